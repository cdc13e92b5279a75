"""How many of numba's threads a large compiled pass may use now.

A parallel region on a machine whose cores are all busy waits for its
slowest thread, which the scheduler may have put aside for a whole time
slice, and GNU OpenMP's idle threads spin: measured on 2 shared cores at a
load average of about 4, the 1,000-node TrafficEngineering step ran at 6.0
steps/s with its latency walk and percentile passes on 2 threads against
10.8 serially (process CPU time: 12.0 against 21.6 steps/s). The passes
that can run on threads therefore do only while the load average leaves a
core for each thread; the answers are the same either way, only the speed
differs.
"""

from __future__ import annotations

import os

import numba

#: Load average (1 minute) above numba's threads from which passes run serially:
#: the process's own threads count in it.
LOAD_MARGIN = 0.5

#: The process that gave threads last (None: none yet).
_threads_pid: int | None = None


def spare_threads(margin: float = LOAD_MARGIN) -> int:
    """numba's threads while the 1-minute load average is below their count plus
    ``margin`` (:data:`LOAD_MARGIN` by default), else 1. Also 1 in a process forked from one that was
    given threads: GNU OpenMP's threads do not survive a fork, and numba ends
    such a child at its first parallel region (a ``ProcessPoolExecutor``'s
    workers, forked by default on Linux)."""
    global _threads_pid
    n = numba.get_num_threads()
    if n < 2:
        return 1
    pid = os.getpid()
    if _threads_pid is not None and _threads_pid != pid:
        return 1
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):             # not on this platform: no sign of a busy machine
        load = 0.0
    if load >= n + margin:
        return 1
    _threads_pid = pid
    return n
