"""The incident files (SANDBOX.md section 6): write them, and read back what RCA may see.

``DIR/labels.parquet`` (one row per incident), ``DIR/telemetry.parquet``
and ``DIR/alarms.parquet`` (long form), and ``DIR/manifest.json``, written
all or nothing (:func:`twin3d.output.atomic_dir`). Each Parquet file's
schema metadata holds ``{"provenance": ...}`` under the key ``twin3d``
(SANDBOX.md section 4); so does the manifest. Element, metric and alarm
columns are dictionary-encoded strings whose dictionary is the whole
vocabulary of the scene (every typed id, every metric, every alarm), so the
bytes depend on the seed only.

:func:`read_incident_tables` rebuilds what an operator observed from the
telemetry, the alarms and the manifest; it never opens ``labels.parquet``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import InputError
from ..output import atomic_dir
from .faults import WindowSpec
from .noise import ALARM_NAMES, ELEMENT_KINDS, METRIC_NAMES, LongRows, element_vocabulary
from .telemetry import ALARMS, METRICS, Telemetry, element_ids

__all__ = ["LABELS_SCHEMA", "TELEMETRY_SCHEMA", "ALARMS_SCHEMA", "FILES", "MANIFEST",
           "labels_table", "long_table", "write_incident_tables", "read_incident_tables"]

_STR = pa.dictionary(pa.int32(), pa.string())
#: labels.parquet: one row per incident.
LABELS_SCHEMA = pa.schema([("incident_id", pa.int64()), ("root_element", pa.string()),
                           ("fault_kind", pa.string()), ("onset_step", pa.int32()),
                           ("secondary", pa.list_(pa.string())), ("chain", pa.string())])
#: telemetry.parquet: one row per observed sample.
TELEMETRY_SCHEMA = pa.schema([("incident_id", pa.int64()), ("step", pa.int32()), ("element", _STR),
                              ("metric", _STR), ("value", pa.float64())])
#: alarms.parquet: one row per step an alarm is active.
ALARMS_SCHEMA = pa.schema([("incident_id", pa.int64()), ("step", pa.int32()), ("element", _STR),
                           ("alarm", _STR)])
#: The Parquet files and their schemas.
FILES = {"labels.parquet": LABELS_SCHEMA, "telemetry.parquet": TELEMETRY_SCHEMA,
         "alarms.parquet": ALARMS_SCHEMA}
MANIFEST = "manifest.json"
#: Deterministic Parquet settings (no timestamps are written by pyarrow).
_WRITE = dict(compression="zstd", compression_level=3, use_dictionary=True,
              write_statistics=True, row_group_size=1 << 20, version="2.6")


def labels_table(incidents) -> pa.Table:
    """labels.parquet's rows from :class:`twin3d.incidents.synth.Incident` records."""
    return pa.table({
        "incident_id": pa.array([i.incident_id for i in incidents], pa.int64()),
        "root_element": pa.array([i.root_element for i in incidents], pa.string()),
        "fault_kind": pa.array([i.fault_kind for i in incidents], pa.string()),
        "onset_step": pa.array([i.onset_step for i in incidents], pa.int32()),
        "secondary": pa.array([list(i.secondary) for i in incidents], pa.list_(pa.string())),
        "chain": pa.array([i.chain for i in incidents], pa.string())}, schema=LABELS_SCHEMA)


def long_table(ids: np.ndarray, rows: LongRows, vocabulary: list[str], alarms: bool) -> pa.Table:
    """telemetry.parquet's or alarms.parquet's rows.

    ``ids`` is the incident id of each row; ``rows`` hold codes into
    ``vocabulary`` (the scene's elements) and into the metric or alarm names.
    """
    elements = pa.DictionaryArray.from_arrays(pa.array(rows.element, pa.int32()),
                                              pa.array(vocabulary, pa.string()))
    names = pa.DictionaryArray.from_arrays(pa.array(rows.name, pa.int32()),
                                           pa.array(ALARM_NAMES if alarms else METRIC_NAMES,
                                                    pa.string()))
    cols = [pa.array(ids, pa.int64()), pa.array(rows.step, pa.int32()), elements, names]
    if alarms:
        return pa.Table.from_arrays(cols, schema=ALARMS_SCHEMA)
    return pa.Table.from_arrays(cols + [pa.array(rows.value, pa.float64())], schema=TELEMETRY_SCHEMA)


def _concat(parts: list[tuple[int, LongRows]], alarms: bool) -> tuple[np.ndarray, LongRows]:
    ids = np.concatenate([np.full(len(r), i, np.int64) for i, r in parts]) if parts else np.zeros(0, np.int64)
    cat = (lambda f: np.concatenate([getattr(r, f) for _, r in parts]) if parts
           else np.zeros(0, np.int32))
    value = None if alarms else (np.concatenate([r.value for _, r in parts]) if parts
                                 else np.zeros(0))
    return ids, LongRows(cat("step"), cat("element"), cat("name"), value)


def write_incident_tables(out_dir: str | Path, incidents, telemetry: list[tuple[int, LongRows]],
                          alarms: list[tuple[int, LongRows]], elements: dict[str, list[str]],
                          manifest: dict, provenance: dict) -> Path:
    """Write the four incident files into ``out_dir``, all or nothing.

    Parameters
    ----------
    out_dir : str or Path
        The folder; replaced as a whole on success.
    incidents : list of Incident
        In incident id order.
    telemetry, alarms : list of (incident_id, LongRows)
        Each incident's observed rows (:func:`twin3d.incidents.noise.apply_noise`).
    elements : dict
        The scene's typed ids per kind (:func:`twin3d.incidents.telemetry.element_ids`).
    manifest : dict
        manifest.json's content; ``provenance`` is added to it.
    provenance : dict
        :func:`twin3d.provenance.provenance` of the run.

    Returns
    -------
    Path
        The folder written.
    """
    vocab = element_vocabulary(elements)
    meta = {b"twin3d": json.dumps({"provenance": provenance}, sort_keys=True).encode()}
    tables = {"labels.parquet": labels_table(incidents),
              "telemetry.parquet": long_table(*_concat(telemetry, False), vocab, alarms=False),
              "alarms.parquet": long_table(*_concat(alarms, True), vocab, alarms=True)}
    with atomic_dir(out_dir) as tmp:
        for name, table in tables.items():
            pq.write_table(table.replace_schema_metadata(meta), tmp / name, **_WRITE)
        doc = {"provenance": provenance, **manifest}
        (tmp / MANIFEST).write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n",
                                    encoding="utf-8")
    return Path(out_dir).resolve()


def _bad(path: Path, problem: str, field: str | None = None) -> InputError:
    return InputError(path, problem, field=field)


def _read_manifest(folder: Path) -> dict[int, WindowSpec]:
    path = folder / MANIFEST
    if not path.is_file():
        raise _bad(path, "no such file (twin3d synth writes it)")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(path, f"not readable JSON ({exc})") from None
    items = doc.get("incidents") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise _bad(path, "must hold a list of incidents", "incidents")
    out = {}
    for j, it in enumerate(items):
        where = f"incidents[{j}]"
        try:
            iid = int(it["incident_id"])
            w = WindowSpec(float(it["start_hour"]), int(it["window"]), float(it["step_s"]),
                           float(it["demand_factor"]))
        except KeyError as exc:
            raise _bad(path, f"{where} has no {exc.args[0]}", exc.args[0]) from None
        except (TypeError, ValueError) as exc:
            raise _bad(path, f"{where}: {exc}", "incidents") from None
        if w.steps < 1 or not w.step_s > 0:
            raise _bad(path, f"{where}: window must be >= 1 and step_s > 0", "window")
        out[iid] = w
    return out


def _read_parquet(path: Path, schema: pa.Schema) -> pa.Table:
    if not path.is_file():
        raise _bad(path, "no such file (twin3d synth writes it)")
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise _bad(path, f"not a readable Parquet file ({exc})") from None
    for f in schema:
        if f.name not in table.column_names:
            raise _bad(path, "missing column", f.name)
        t = table.schema.field(f.name).type
        want = f.type.value_type if pa.types.is_dictionary(f.type) else f.type
        got = t.value_type if pa.types.is_dictionary(t) else t
        if not (got == want or (pa.types.is_integer(got) and pa.types.is_integer(want))):
            raise _bad(path, f"column type {t}, expected {f.type}", f.name)
    return table


def _codes(table: pa.Table, column: str, vocab: dict[str, int], path: Path) -> np.ndarray:
    """Codes of a string column in ``vocab``; an unknown value is an InputError."""
    col = table.column(column).combine_chunks()
    if not pa.types.is_dictionary(col.type):
        col = col.dictionary_encode()
    words = col.dictionary.to_pylist()
    bad = [w for w in words if w not in vocab]
    idx = col.indices.to_numpy(zero_copy_only=False)
    if bad and np.isin(idx, [words.index(b) for b in bad]).any():
        raise _bad(path, f"unknown {column} '{bad[0]}' (not in this scene)", column)
    lut = np.array([vocab.get(w, -1) for w in words], dtype=np.int64)
    return lut[idx] if idx.size else np.zeros(0, np.int64)


def read_incident_tables(folder: str | Path, sim) -> dict[int, tuple[WindowSpec, Telemetry]]:
    """The observed telemetry of every incident in a synth folder, dense again.

    Reads ``telemetry.parquet``, ``alarms.parquet`` and ``manifest.json``
    (never ``labels.parquet``). A sample that is not in the file is NaN; an
    alarm is active at the steps it has a row.

    Parameters
    ----------
    folder : str or Path
        What ``twin3d synth -o`` wrote.
    sim : twin3d.sim.engine.Simulator
        The simulator of the same scene (its elements name the columns).

    Returns
    -------
    dict
        incident_id -> (WindowSpec, Telemetry), in id order.

    Raises
    ------
    InputError
        A file is missing or unreadable, lacks a column, or names an
        element, metric, alarm, incident or step the scene or the manifest
        does not have; the message names the file and the field.

    Examples
    --------
    >>> got = read_incident_tables("incidents", sim)        # doctest: +SKIP
    >>> window, tel = got[0]; tel.values["link"]["util"].shape   # doctest: +SKIP
    (12, 14)
    """
    folder = Path(folder)
    windows = _read_manifest(folder)
    els = element_ids(sim)
    vocab = element_vocabulary(els)
    el_code = {e: i for i, e in enumerate(vocab)}
    kind_of = np.repeat(np.arange(len(ELEMENT_KINDS)), [len(els[k]) for k in ELEMENT_KINDS])
    start = np.cumsum([0] + [len(els[k]) for k in ELEMENT_KINDS])
    out = {}
    for iid, w in sorted(windows.items()):
        vals = {k: {m: np.full((w.steps, len(els[k])), np.nan) for m in METRICS[k]}
                for k in ELEMENT_KINDS}
        al = {a: np.zeros((w.steps, len(els[k])), bool) for a, k in ALARMS.items()}
        out[iid] = (w, Telemetry(els, vals, al))
    for name, is_alarm in (("telemetry.parquet", False), ("alarms.parquet", True)):
        path = folder / name
        table = _read_parquet(path, FILES[name])
        col = "alarm" if is_alarm else "metric"
        names = ALARM_NAMES if is_alarm else METRIC_NAMES
        ids = table.column("incident_id").to_numpy().astype(np.int64)
        step = table.column("step").to_numpy().astype(np.int64)
        el = _codes(table, "element", el_code, path)
        nm = _codes(table, col, {n: i for i, n in enumerate(names)}, path)
        value = None if is_alarm else table.column("value").to_numpy(zero_copy_only=False)
        unknown = np.setdiff1d(ids, np.fromiter(windows, np.int64, len(windows)))
        if unknown.size:
            raise _bad(path, f"incident {int(unknown[0])} is not in {MANIFEST}", "incident_id")
        want_kind = np.array([ELEMENT_KINDS.index(ALARMS[a] if is_alarm else _kind_of_metric(a))
                              for a in names])
        if nm.size and np.any(kind_of[el] != want_kind[nm]):
            j = int(np.flatnonzero(kind_of[el] != want_kind[nm])[0])
            raise _bad(path, f"{col} '{names[nm[j]]}' on element '{vocab[el[j]]}' of another kind",
                       "element")
        order = np.argsort(ids, kind="stable")
        bounds = np.searchsorted(ids[order], np.array(sorted(windows)), side="left")
        ends = np.append(bounds[1:], ids.size)
        for (iid, (w, tel)), lo, hi in zip(sorted(out.items()), bounds, ends):
            sel = order[lo:hi]
            if not sel.size:
                continue
            s, e, n = step[sel], el[sel], nm[sel]
            if s.min() < 0 or s.max() >= w.steps:
                raise _bad(path, f"incident {iid}: step out of its window of {w.steps}", "step")
            for j in np.unique(n):
                hit = n == j
                k = ELEMENT_KINDS[want_kind[j]]
                if is_alarm:
                    tel.alarms[names[j]][s[hit], e[hit] - start[want_kind[j]]] = True
                else:
                    tel.values[k][names[j]][s[hit], e[hit] - start[want_kind[j]]] = value[sel][hit]
    return out


def _kind_of_metric(metric: str) -> str:
    return next(k for k in ELEMENT_KINDS if metric in METRICS[k])
