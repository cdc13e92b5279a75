"""How many of numba's threads a large compiled pass may use now.

A parallel region on a machine whose cores are all busy waits for its
slowest thread, which the scheduler may have put aside for a whole time
slice, and GNU OpenMP's idle threads spin: measured on 2 shared cores at a
load average of about 4, the 1,000-node TrafficEngineering step ran at 6.0
steps/s with its latency walk and percentile passes on 2 threads against
10.8 serially (process CPU time: 12.0 against 21.6 steps/s). A pass
repeated every step (the batched environment's step, the 1,000-node
latency walk and percentile selection) therefore runs on threads when
they have measured quicker (:class:`ThreadChoice`); a one-off pass only
while the load average leaves a core for each thread (:func:`spare_threads`).
The answers are the same either way, only the speed differs.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable

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
    n = usable_threads()
    if n < 2:
        return 1
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):             # not on this platform: no sign of a busy machine
        load = 0.0
    if load >= n + margin:
        return 1
    return _claim(n)


def usable_threads() -> int:
    """numba's threads, or 1 in a process forked from one that was given threads
    (see :func:`spare_threads`); the load is not looked at."""
    n = numba.get_num_threads()
    if n < 2 or _threads_pid is not None and _threads_pid != os.getpid():
        return 1
    return n


def _claim(n: int) -> int:
    """Record that this process was given ``n`` threads (the fork guard's mark)."""
    global _threads_pid
    _threads_pid = os.getpid()
    return n


class ThreadChoice:
    """Serial or on threads, for a compiled call repeated many times, by its measured time.

    The load average tells only whether other work is running, not whether a
    parallel region would win: on 2 shared cores a threaded Geant2012 batch
    step ran at 30 µs per copy against 57 serially on a quiet machine and at
    263 against 179 at a load of about 4. This measures instead. Each mode is
    tried first (its first call not counted: a cold compile or the thread
    pool's start), then the cheaper one by a moving average of seconds per
    item runs, and ``explore_every`` calls later the other runs once, so
    that a change in the machine's load is seen: such a look back replaces
    that mode's average (its old one is stale), so one look at a machine
    that got quiet again can move the choice back. A look back that leaves
    the choice as it was doubles the calls to the next one, up to
    ``explore_max``; a change of choice brings them back to ``explore_every``
    (on a steady machine each look back at the slower mode costs that
    mode's time: about 2 % of the run at every 50th call, 0.25 % at every
    400th). The answers are the same in either mode; only the speed differs.

    Parameters
    ----------
    explore_every : int
        Calls from the tries, or from a change of choice, to the next look at the
        mode not in use.
    weight : float
        Weight of a new measurement in the moving average, in (0, 1].
    explore_max : int
        Most calls between two looks (default: 8 ``explore_every``).

    Examples
    --------
    >>> choice = ThreadChoice(explore_every=4)
    >>> modes = []
    >>> for call in range(10):
    ...     threaded = choice.choose()
    ...     modes.append(threaded)
    ...     choice.record(threaded, 1.0 if threaded else 3.0, items=1)
    >>> modes                  # warm-up and a try of each, then threads, a look back, threads
    [True, True, False, False, True, True, True, True, False, True]
    """

    def __init__(self, explore_every: int = 50, weight: float = 0.25,
                 explore_max: int | None = None) -> None:
        explore_max = 8 * explore_every if explore_max is None else explore_max
        if explore_every < 2 or explore_max < explore_every or not 0.0 < weight <= 1.0:
            raise ValueError("explore_every must be >= 2, explore_max >= explore_every "
                             "and weight in (0, 1]")
        self.explore_every = int(explore_every)
        self.explore_max = int(explore_max)
        self.weight = float(weight)
        self._gap = self.explore_every      # calls from this look back to the next
        self._next_look = 0                 # the call of the next look back
        self._best: int | None = None       # the mode chosen by the averages
        self._looking = -1                  # the mode a look back runs (-1: none)
        #: seconds per item of [serial, threaded] (moving averages; None: not measured yet)
        self.cost_s: list[float | None] = [None, None]
        self._seen = [0, 0]
        self._calls = 0

    def choose(self) -> bool:
        """Whether the next call runs on threads (never in a process that may not use them)."""
        if usable_threads() < 2:
            return False
        self._calls += 1
        for mode in (1, 0):         # each tried twice first: the first call is not counted
            if self._seen[mode] < 2:
                return self._threads(mode)
        best = int(self.cost_s[1] < self.cost_s[0])
        if best != self._best:              # the first or a new choice: look back soon
            self._best = best
            self._gap = self.explore_every
            self._next_look = self._calls + self._gap
        if self._calls >= self._next_look:
            self._looking = 1 - best
            return self._threads(1 - best)
        return self._threads(best)

    def record(self, threaded: bool, seconds: float, items: int = 1) -> None:
        """Count a call of ``seconds`` wall time over ``items`` items run in that mode."""
        mode = int(bool(threaded))
        self._seen[mode] += 1
        if self._seen[mode] == 1 or items < 1:
            return
        x = seconds / items
        c = self.cost_s[mode]
        look = mode == self._looking        # a look back: the mode's average is stale
        self.cost_s[mode] = x if c is None or look else c + self.weight * (x - c)
        if look:                            # the next look: later while it stays the slower
            self._looking = -1
            other = self.cost_s[1 - mode]
            slower = other is not None and not self.cost_s[mode] < other
            self._gap = min(2 * self._gap, self.explore_max) if slower else self.explore_every
            self._next_look = self._calls + self._gap

    def timed(self, call: Callable[[int], Any], items: int, n_threads: int | None = None) -> Any:
        """``call(n)`` in the chosen mode (n: ``n_threads``, by default numba's
        threads; or 1, serial), timed and recorded over ``items`` items; returns
        what it returns. With ``n_threads`` below 2, ``call(1)``, neither chosen
        nor timed."""
        if n_threads is not None and n_threads < 2:
            return call(1)
        threaded = self.choose()
        start_s = time.perf_counter()
        out = call((usable_threads() if n_threads is None else n_threads) if threaded else 1)
        self.record(threaded, time.perf_counter() - start_s, items)
        return out

    def _threads(self, mode: int) -> bool:
        if mode:
            _claim(numba.get_num_threads())
        return bool(mode)
