"""Run a sweep's cases serially or on Dask (a LocalCluster, or any scheduler address).

The scene travels to the workers as its file path and sha256; each worker
process builds its :class:`~twin3d.sweep.cases.CaseRunner` once and keeps
it for every later task (:func:`twin3d.sweep.cases.runner_for`). Cases go
in batches so that a task lasts at least :data:`MIN_TASK_S` (a Dask task
costs about 1 ms of overhead): first one probe batch of
:data:`PROBE_CASES` per worker, whose timing sizes the rest
(:func:`batch_size`). Rows do not depend on the batching (a case's row
depends on the case only), so serial and distributed sweeps write the same
file. Ctrl-C cancels what is left and returns the rows finished so far.
"""

from __future__ import annotations

import logging
import math
import signal
import time
from typing import Callable

import numpy as np

from .cases import run_batch
from .faults import Case

__all__ = ["run_cases", "batch_size", "MIN_TASK_S", "TARGET_TASK_S", "PROBE_CASES"]

#: Shortest task worth its scheduling overhead, s.
MIN_TASK_S = 0.1
#: Task length aimed at, s (longer tasks make a coarser progress bar and worse balance).
TARGET_TASK_S = 0.25
#: Cases in each worker's first (probe) batch.
PROBE_CASES = 8
#: Batches per worker aimed at, at least, for balance (when tasks stay >= MIN_TASK_S).
BATCHES_PER_WORKER = 4


def batch_size(case_s: float, remaining: int, n_workers: int) -> int:
    """Cases per task for cases of ``case_s`` seconds each.

    Long enough to last :data:`MIN_TASK_S`; otherwise :data:`TARGET_TASK_S`,
    shortened to leave :data:`BATCHES_PER_WORKER` batches per worker.

    Examples
    --------
    >>> batch_size(0.001, 1700, 2), batch_size(0.13, 895, 2), batch_size(0.001, 50, 2)
    (213, 2, 100)
    """
    case_s = max(case_s, 1e-6)
    floor = math.ceil(MIN_TASK_S / case_s)
    aim = math.ceil(TARGET_TASK_S / case_s)
    balance = math.ceil(remaining / (n_workers * BATCHES_PER_WORKER))
    return max(1, floor, min(aim, balance))


def _serial(scene_path: str, sha: str, day: bool, cases: list[Case],
            progress: Callable[[int], None], task: Callable = run_batch) -> tuple[list[dict], bool]:
    rows: list[dict] = []
    try:
        for c in cases:
            rows += task(scene_path, sha, day, [c])[0]
            progress(len(rows))
    except KeyboardInterrupt:
        return rows, False
    return rows, True


def _client(workers: int, scheduler: str | None):
    """A Dask client, and the LocalCluster it runs on (None for a given scheduler)."""
    import dask
    from dask.distributed import Client, LocalCluster
    if scheduler:
        return Client(scheduler), None
    # A terminal's Ctrl-C reaches the whole process group: the worker processes
    # inherit SIGINT ignored (across their exec), so only this process stops the
    # sweep, and the workers do not print tracebacks as they go.
    try:
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:          # not the main thread: leave signals alone
        old = None
    try:
        # Dask's nannies set MALLOC_TRIM_THRESHOLD_=65536 in their workers, which
        # pins glibc's mmap threshold: every large numpy array of a step is then
        # mapped and unmapped afresh, 25 % more CPU per case on Kdl (116 against
        # 145 ms). Unset here; a cluster of one's own wants the same.
        with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.CRITICAL)
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)
    return Client(cluster), cluster


def _worker_rss_bytes() -> int:
    import psutil
    return int(psutil.Process().memory_info().rss)


def _distributed(scene_path: str, sha: str, day: bool, cases: list[Case], workers: int,
                 scheduler: str | None, progress: Callable[[int], None],
                 stats: dict, task: Callable = run_batch) -> tuple[list[dict], bool]:
    from dask.distributed import as_completed
    t0 = time.perf_counter()
    client, cluster = _client(workers, scheduler)
    stats["cluster_start_s"] = time.perf_counter() - t0
    rows: list[dict] = []
    futures = []
    try:
        n_workers = max(1, len(client.scheduler_info()["workers"]))
        stats["workers"] = n_workers
        todo = list(cases)
        for _ in range(n_workers):       # probes: each worker builds its simulator meanwhile
            batch, todo = todo[:PROBE_CASES], todo[PROBE_CASES:]
            if batch:
                futures.append(client.submit(task, scene_path, sha, day, batch, pure=False))
        done = as_completed(futures)
        for fut in done:
            got, seconds, cpu_s = fut.result()
            stats["worker_cpu_s"] = stats.get("worker_cpu_s", 0.0) + cpu_s
            rows += got
            progress(len(rows))
            if todo:          # size the rest from the first probe's typical case (the
                # first cases of a worker pay for loading compiled code: the median skips them)
                k = batch_size(float(np.median(seconds)), len(todo), n_workers)
                while todo:
                    batch, todo = todo[:k], todo[k:]
                    f = client.submit(task, scene_path, sha, day, batch, pure=False)
                    futures.append(f)
                    done.add(f)
                stats["batch_cases"] = k
        stats["cases_s"] = time.perf_counter() - t0 - stats["cluster_start_s"]
        stats["worker_rss_bytes"] = list(client.run(_worker_rss_bytes).values())
    except KeyboardInterrupt:
        for f in futures:
            f.cancel()
        return rows, False
    finally:
        try:
            client.close()
            if cluster is not None:
                cluster.close()
        except Exception:       # noqa: BLE001 - a cluster torn down by Ctrl-C may not close cleanly
            pass
    return rows, True


def run_cases(scene_path: str, scene_sha256: str, cases: list[Case], day: bool = False,
              workers: int = 0, scheduler: str | None = None,
              progress: Callable[[int], None] | None = None,
              stats: dict | None = None, task: Callable = run_batch) -> tuple[list[dict], bool]:
    """Rows of every case (in any order), and whether the sweep ran to the end.

    Parameters
    ----------
    scene_path, scene_sha256 : str
        The scene file, as workers read it, and its sha256.
    cases : list of Case
    day : bool
        Whole-day cases.
    workers : int
        0: serially in this process (the reference); otherwise a LocalCluster
        of this many single-threaded worker processes.
    scheduler : str, optional
        A running Dask scheduler's address (``tcp://host:8786``); overrides ``workers``.
    progress : callable, optional
        Called with the number of rows done after each batch.
    stats : dict, optional
        Filled with timings: ``cluster_start_s``, ``cases_s`` (from the
        cluster's start to the last row), ``workers``, ``batch_cases`` (cases
        per task after the probes), ``worker_rss_bytes``, ``worker_cpu_s``
        (the workers' CPU time in cases); serially ``cases_s``.
    task : callable, optional
        What runs a batch: ``task(scene_path, scene_sha256, day, batch) ->
        (rows, seconds, cpu_s)``, picklable (default
        :func:`~twin3d.sweep.cases.run_batch`; ``twin3d capex`` runs the
        cases of each candidate network through its own).

    Examples
    --------
    >>> rows, complete = run_cases("abilene.toml", sha, cases, workers=2)   # doctest: +SKIP
    """
    progress = progress or (lambda n: None)
    stats = {} if stats is None else stats
    if workers == 0 and not scheduler:
        t0 = time.perf_counter()
        got = _serial(scene_path, scene_sha256, day, cases, progress, task)
        stats["cases_s"] = time.perf_counter() - t0
        return got
    return _distributed(scene_path, scene_sha256, day, cases, workers, scheduler, progress, stats,
                        task)


def sweep(scene, output, faults: str | None, seed: int | None = None, samples: int | None = None,
          storms: int = 0, day: bool = False, demand_growth: str | None = None,
          availability: str | None = None, workers: int = 0, scheduler: str | None = None,
          progress: Callable[[int, int], None] | None = None, argv=None) -> dict:
    """Plan, run and write a sweep; returns its ``sweep`` metadata.

    Parameters
    ----------
    scene : twin3d.loader.Scene
        The loaded scene (its file is what workers load).
    output : path
        The Parquet file, written atomically, also after Ctrl-C (with the
        rows finished; ``complete`` false in the metadata).
    faults, seed, samples, storms, day, demand_growth, availability
        As ``twin3d sweep`` takes them (:mod:`twin3d.sweep.faults`).
    workers, scheduler
        As :func:`run_cases`.
    progress : callable, optional
        ``progress(done, total)``.
    argv : list of str, optional
        The command line recorded in the provenance (default ``sys.argv``).

    Examples
    --------
    >>> meta = sweep(load_scene("scenes/topologyzoo/Abilene.toml"), "out.parquet", "single")  # doctest: +SKIP
    >>> meta["cases_done"] == meta["cases_planned"]                                            # doctest: +SKIP
    True
    """
    from ..physics.transport import Router
    from ..provenance import file_sha256, provenance
    from .faults import parse_availability, parse_growth, plan_cases
    from .table import write_sweep

    seed = scene.seed if seed is None else int(seed)
    growth = parse_growth(demand_growth) if demand_growth is not None else None
    avail = parse_availability(availability)
    spec = scene.spec
    link_ids = [str(l) for l in Router(scene.twin.graph, metric=spec.traffic.metric,
                                       source=str(spec.path)).links]
    cases = plan_cases(scene.twin, link_ids, faults, seed, samples, storms, growth, avail)
    path = str(spec.path.resolve())
    total = len(cases)
    rows, complete = run_cases(path, file_sha256(path), cases, day, workers, scheduler,
                               (lambda n: progress(n, total)) if progress else None)
    meta = {"faults": faults, "samples": samples, "seed": seed, "day": day,
            "demand_growth": demand_growth, "storms": storms, "availability": avail,
            "cases_planned": total, "cases_done": len(rows), "complete": complete,
            "workers": workers, "scheduler": scheduler or ""}
    write_sweep(output, rows, {"provenance": provenance(spec.path, seed, argv), "sweep": meta})
    return meta
