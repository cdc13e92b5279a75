"""The sweep's Parquet file: one row per case, sorted by ``case_id``, written atomically.

Columns (:data:`SWEEP_SCHEMA`): the contract's ``faults`` (typed ids),
``demand_factor``, ``dropped_bps``, ``served_fraction``, ``util_max``,
``latency_p95_ms``, ``sla_violation_steps`` and ``failed_after_cascade``
(typed ids: the faults, the links the cascades tripped and any element the
scene itself has down; the links of a failed site are not listed, the site
is), plus ``case_id``, ``kind`` (baseline, single,
double, random, storm), ``offered_bps``, ``served_bps``, ``sla_minutes``,
``cascade_waves``, ``tripped`` (typed ids), ``steps`` and a storm's circle
(``storm_x_m``, ``storm_y_m``, ``storm_radius_m`` in the scene's ENU
plane; NaN for other cases).

The schema metadata key ``twin3d`` holds JSON ``{"provenance": ...,
"sweep": ...}``: the provenance (SANDBOX.md section 4) and the sweep's
settings (fault mode, samples, seed, day, demand growth, storms,
availability, cases planned and done, whether it ran to the end).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..atomic import atomic_path
from ..errors import InputError

__all__ = ["SWEEP_SCHEMA", "sweep_table", "write_sweep", "read_sweep", "sweep_metadata"]

_IDS = pa.list_(pa.string())
#: The sweep file's columns, in order.
SWEEP_SCHEMA = pa.schema([
    ("case_id", pa.int64()), ("kind", pa.string()), ("faults", _IDS),
    ("demand_factor", pa.float64()), ("dropped_bps", pa.float64()),
    ("served_fraction", pa.float64()), ("util_max", pa.float64()),
    ("latency_p95_ms", pa.float64()), ("sla_violation_steps", pa.int32()),
    ("failed_after_cascade", _IDS), ("offered_bps", pa.float64()), ("served_bps", pa.float64()),
    ("sla_minutes", pa.float64()), ("cascade_waves", pa.int32()), ("tripped", _IDS),
    ("steps", pa.int32()), ("storm_x_m", pa.float64()), ("storm_y_m", pa.float64()),
    ("storm_radius_m", pa.float64()),
])
#: Deterministic Parquet settings (pyarrow writes no timestamps).
_WRITE = dict(compression="zstd", compression_level=3, write_statistics=True, version="2.6")


def sweep_table(rows: list[dict], meta: dict | None = None) -> pa.Table:
    """Rows (dicts with every column) -> a table sorted by ``case_id``, ``meta`` in its schema."""
    rows = sorted(rows, key=lambda r: r["case_id"])
    cols = {f.name: pa.array([r[f.name] for r in rows], f.type) for f in SWEEP_SCHEMA}
    schema = SWEEP_SCHEMA
    if meta is not None:
        schema = schema.with_metadata({b"twin3d": json.dumps(meta, sort_keys=True).encode()})
    return pa.Table.from_pydict(cols, schema=schema)


def write_sweep(path: str | Path, rows: list[dict], meta: dict) -> Path:
    """Write the sweep file through a temporary file in the same folder (then ``os.replace``)."""
    path = Path(path)
    table = sweep_table(rows, meta)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, **_WRITE)
    return path


def sweep_metadata(table: pa.Table) -> dict:
    """The ``twin3d`` schema metadata of a sweep table ({} when absent)."""
    raw = (table.schema.metadata or {}).get(b"twin3d")
    return json.loads(raw) if raw else {}


def read_sweep(path: str | Path) -> pa.Table:
    """Read a sweep file, checking its columns; InputError naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such sweep file")
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(path, f"not a Parquet file ({exc})") from None
    for f in SWEEP_SCHEMA:
        if f.name not in table.column_names:
            raise InputError(path, "missing column (not a twin3d sweep file?)", field=f.name)
        if not table.schema.field(f.name).type.equals(f.type):
            raise InputError(path, f"column type {table.schema.field(f.name).type}, expected "
                             f"{f.type}", field=f.name)
    return table
