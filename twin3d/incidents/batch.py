"""Generate a labelled incident set into a folder: sample, simulate, add noise, write.

One :class:`~twin3d.sim.engine.Simulator` per process serves every
incident. With ``workers > 1`` chunks of incident ids run in worker
processes; since each incident draws from its own generators
(``default_rng([seed, id])`` for the incident, ``default_rng([seed, id, 2])``
for its noise), the files are the same bytes whatever the number of workers.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .faults import FAULT_KINDS
from .noise import NoiseSpec, apply_noise
from .synth import COMPOUNDS, SynthPlan, synth_incident
from .tables import write_incident_tables
from .telemetry import element_ids

__all__ = ["synth_to_dir", "synth_chunk", "NOISE_STREAM", "CHUNK"]

#: The third word of an incident's noise generator seed: [seed, incident_id, NOISE_STREAM].
NOISE_STREAM = 2
#: Incidents per unit of work (and per progress update).
CHUNK = 25
#: How worker processes start (see :func:`synth_incidents`): never a fork.
WORKER_START = "forkserver"

_WORKER: dict = {}


def synth_chunk(sim, plan: SynthPlan, seed: int, ids: Sequence[int], noise: NoiseSpec) -> list:
    """[(Incident, telemetry LongRows, alarm LongRows)] for incident ``ids``, in order."""
    out = []
    for i in ids:
        inc, tel = synth_incident(sim, plan, seed, int(i))
        rows = apply_noise(tel, np.random.default_rng([seed, int(i), NOISE_STREAM]), noise)
        out.append((inc, *rows))
    return out


def _init_worker(scene_path: str, plan_args: tuple) -> None:
    from ..loader import load_scene
    from ..sim.engine import Simulator
    sim = Simulator(load_scene(scene_path))
    _WORKER["sim"], _WORKER["plan"] = sim, SynthPlan.build(sim, *plan_args)


def _run_chunk(seed: int, ids: list[int], noise: NoiseSpec) -> list:
    return synth_chunk(_WORKER["sim"], _WORKER["plan"], seed, ids, noise)


def synth_to_dir(sim, out_dir: str | Path, n: int, seed: int, mix: dict[str, float] | None = None,
                 window: int = 12, step_s: float = 300.0, compound_rate: float = 0.1,
                 noise: NoiseSpec | None = None, workers: int = 1,
                 provenance: dict | None = None,
                 progress: Callable[[int], None] | None = None) -> dict:
    """Generate ``n`` incidents of a simulator's scene into ``out_dir`` (SANDBOX.md section 6).

    Parameters
    ----------
    sim : twin3d.sim.engine.Simulator
        The scene's simulator (workers load the same scene file again).
    out_dir : str or Path
        The folder; replaced as a whole on success.
    n, seed : int
        Incidents 0..n-1; the seed of every draw.
    mix, window, step_s, compound_rate
        See :func:`twin3d.incidents.synth.sample_incidents`.
    noise : NoiseSpec, optional
        Default: SANDBOX defaults.
    workers : int
        Processes (1: this one).
    provenance : dict, optional
        Recorded in every file; default :func:`twin3d.provenance.provenance`.
    progress : callable, optional
        Called with the number of incidents finished so far.

    Returns
    -------
    dict
        The manifest written (without its provenance).

    Examples
    --------
    >>> sim = Simulator(load_scene("scenes/topologyzoo/Abilene.toml"))    # doctest: +SKIP
    >>> synth_to_dir(sim, "incidents", 100, seed=7)["counts"]["none"]     # doctest: +SKIP
    13
    """
    from ..errors import InputError
    from ..provenance import provenance as make_provenance
    path = sim.scene.spec.path
    if n < 1:
        raise InputError(path, f"the number of incidents must be >= 1, got {n}", field="incidents")
    if workers < 1:
        raise InputError(path, f"the number of workers must be >= 1, got {workers}", field="workers")
    noise = noise or NoiseSpec()
    plan_args = (mix, window, step_s, compound_rate)
    plan = SynthPlan.build(sim, *plan_args)
    chunks = [list(range(a, min(n, a + CHUNK))) for a in range(0, n, CHUNK)]
    results: dict[int, list] = {}
    done = 0
    if workers == 1 or len(chunks) == 1:
        for j, ids in enumerate(chunks):
            results[j] = synth_chunk(sim, plan, seed, ids, noise)
            done += len(ids)
            if progress:
                progress(done)
    else:
        # Workers start from a fresh server process, not a fork of this one: numba's OpenMP
        # threads (the radio kernels') do not survive a fork, and a forked worker that runs a
        # parallel region is ended (BrokenProcessPool on radio scenes).
        with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                                 initargs=(str(path), plan_args),
                                 mp_context=multiprocessing.get_context(WORKER_START)) as pool:
            futures = {pool.submit(_run_chunk, seed, ids, noise): j for j, ids in enumerate(chunks)}
            for fut in as_completed(futures):
                j = futures[fut]
                results[j] = fut.result()
                done += len(chunks[j])
                if progress:
                    progress(done)
    rows = [r for j in range(len(chunks)) for r in results[j]]
    incidents = [r[0] for r in rows]
    manifest = _manifest(sim, incidents, seed, window, step_s, compound_rate, noise)
    prov = provenance or make_provenance(path, seed)
    write_incident_tables(out_dir, incidents, [(r[0].incident_id, r[1]) for r in rows],
                          [(r[0].incident_id, r[2]) for r in rows], element_ids(sim), manifest, prov)
    return manifest


def _manifest(sim, incidents, seed, window, step_s, compound_rate, noise: NoiseSpec) -> dict:
    counts = Counter(i.fault_kind for i in incidents)
    compounds = Counter(i.compound for i in incidents if i.compound)
    return {
        "scene": sim.scene.name,
        "scene_file": Path(sim.scene.spec.path).name,
        "seed": int(seed),
        "n_incidents": len(incidents),
        "window": int(window),
        "step_s": float(step_s),
        "compound_rate": float(compound_rate),
        "noise": noise.as_dict(),
        "counts": {k: counts.get(k, 0) for k in FAULT_KINDS},
        "compound": {c: compounds.get(c, 0) for c in COMPOUNDS},
        "observability": {"resampled": sum(i.tries > 1 for i in incidents),
                          "unobservable": sum(not i.observable for i in incidents)},
        "incidents": [{"incident_id": i.incident_id, "start_hour": i.window.start_hour,
                       "demand_factor": i.window.demand_factor, "step_s": i.window.step_s,
                       "window": i.window.steps} for i in incidents],
    }
