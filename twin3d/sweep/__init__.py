"""Monte Carlo what-if sweeps on Dask (issue 12): fault sets, cases, the sweep file.

``twin3d sweep SCENE --faults single|double|random ... -o OUT.parquet``
plans the cases (:mod:`twin3d.sweep.faults`), runs them on one simulator
per worker (:mod:`twin3d.sweep.cases`), serially or on a Dask cluster
(:mod:`twin3d.sweep.run`), and writes one row per case
(:mod:`twin3d.sweep.table`). Dask is imported only when a sweep runs on it.

Examples
--------
>>> from twin3d.sweep import sweep
>>> meta = sweep(scene, "single.parquet", "single", workers=2)     # doctest: +SKIP
"""

from __future__ import annotations

from .faults import Case, Storm, plan_cases
from .run import run_cases, sweep
from .table import SWEEP_SCHEMA, read_sweep, sweep_metadata, write_sweep

__all__ = ["Case", "Storm", "plan_cases", "run_cases", "sweep", "SWEEP_SCHEMA", "read_sweep",
           "sweep_metadata", "write_sweep"]
