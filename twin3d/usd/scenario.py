"""A scenario layer: one simulated run as time-sampled ``over`` prims.

The layer defines nothing; it sits above the signal and base layers and
overrides what the scenario changes, one time code per step (time code =
step index ``t``):

* /World/Network/Links/<link>: ``twin:utilization`` (float, load /
  capacity), ``twin:load_bps`` and ``twin:capacity_bps`` (doubles: the
  capacity of the step, after ``add_capacity``), ``twin:state`` (token: up,
  cut, tripped) and ``primvars:displayColor`` (one colour, constant: green at 0,
  yellow at 0.7, red from 1, dark grey when the link is not up);
  ``twin:weight`` (double, the routing weight in the unit of ``[traffic]
  metric``), only on links whose weight a ``set_weight`` event changes;
* /World/Network/Sites/<site>: ``twin:state`` (token: up, down, off,
  sleep), ``twin:load_bps``, ``twin:power_w`` (doubles; no ``power_w`` for a
  site without a radio energy model, i.e. without cells), and the colour of
  its Tower (or Building, for nodes) by state; on a site one of whose cells
  a ``cell_sleep`` event silences, ``twin:cell_state`` (token[], one per
  cell, k-th entry = cell k: up, sleep, or the site's state when it is not
  up); on a site a ``sector`` event changes, ``twin:cell_tilt_deg``,
  ``twin:cell_p_tx_dbm`` and ``twin:cell_azimuth_deg`` (float[], one per
  cell);
* /World/Signal/{RSRP,SINR,BestServer}, when the scenario's radio map
  changes (a site goes down or to sleep): the per-face colours and raw values
  of :func:`twin3d.usd.signal.signal_primvars`, sampled at step 0 and at
  each change, with a copy of the old map one step before the change. USD
  interpolates float arrays linearly between samples; the copy keeps the
  value at every integer time code equal to that step's map.

These attributes have only defaults in the weaker base and signal layers,
and a stronger layer's time samples win over a weaker layer's default
(LIVRPS: the scenario layer is the strongest sublayer), so the composed
stage shows the scenario's values at every step.

``customLayerData["twin3d"]`` tells the run's story without the simulator:
name, description, step length, start hour, the KPI table (one array per
KPI over the steps), events and cascade waves by step (keys ``t00``,
``t01``, ...). :func:`kpi_rows` turns the table back into
:meth:`ScenarioResult.kpi_table` rows.

Examples
--------
>>> import twin3d                                                     # doctest: +SKIP
>>> from twin3d.sim.engine import simulate                            # doctest: +SKIP
>>> scene = twin3d.load_scene("scenes/helsinki.toml")                 # doctest: +SKIP
>>> result = simulate(scene, "site_outage")["site_outage"]            # doctest: +SKIP
>>> write_scenario_layer(scene.twin, result, "out/layers/scenarios/site_outage.usdc")  # doctest: +SKIP
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from pxr import Sdf, Vt

from ..model import Twin
from ..physics.coverage import RadioMap
from ..sim.engine import ScenarioResult
from ..sim.kpi import KPI_UNITS
from .colors import LINK_DOWN, UTILIZATION_MAP, site_state_color, srgb_to_linear
from .georef import georef_metadata
from .network import NODE_KINDS
from .sdfutil import prim_names, vt
from .layers import TIME_CODES_PER_SECOND, new_layer, set_stage_metadata, set_time_metadata
from .layers import provenance_entry as _provenance_of
from .signal import SIGNAL_PATH, signal_primvars

__all__ = ["LINKS_PATH", "SITES_PATH", "signal_sample_steps", "scenario_metadata", "kpi_rows",
           "write_scenario_layer"]

LINKS_PATH = "/World/Network/Links"
SITES_PATH = "/World/Network/Sites"


def _over(layer: Sdf.Layer, path: str) -> Sdf.PrimSpec:
    """An ``over`` prim spec at ``path`` (its ancestors become overs too)."""
    return Sdf.CreatePrimInLayer(layer, path)


def _sampled(prim: Sdf.PrimSpec, name: str, type_name: str, samples, *, custom: bool = True,
             interpolation: str | None = None) -> Sdf.AttributeSpec:
    """An attribute spec holding one time sample per (time code, value)."""
    spec = Sdf.AttributeSpec(prim, name, Sdf.ValueTypeNames.Find(type_name),
                             Sdf.VariabilityVarying, custom)
    if interpolation:
        spec.SetInfo("interpolation", interpolation)
    for t, value in samples:
        spec.SetTimeSample(float(t), value)
    return spec


def _color_samples(rgb: np.ndarray):
    """(t, color3f[1]) for colours (steps, 3)."""
    return [(t, Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(c[None], np.float32)))
            for t, c in enumerate(rgb)]


def _links(layer: Sdf.Layer, twin: Twin, result: ScenarioResult) -> None:
    names = prim_names(twin.links)
    util = np.array([s.link_util for s in result.steps], float).reshape(len(result.steps), -1)
    load = np.array([s.link_load_bps for s in result.steps], float).reshape(util.shape)
    state = np.array([s.link_state for s in result.steps], object).reshape(util.shape)
    up = state == "up"
    cap = np.array([np.full(util.shape[1], np.nan) if s.link_capacity_bps is None
                    else s.link_capacity_bps for s in result.steps], float).reshape(util.shape)
    weight = None
    if all(s.link_weight is not None for s in result.steps):
        weight = np.array([s.link_weight for s in result.steps], float).reshape(util.shape)
    for k, lid in enumerate(result.link_ids):
        if lid not in names:
            raise ValueError(f"scenario '{result.name}': link '{lid}' is not in the twin")
        prim = _over(layer, f"{LINKS_PATH}/{names[lid]}")
        _sampled(prim, "twin:utilization", "float", enumerate(map(float, util[:, k])))
        _sampled(prim, "twin:load_bps", "double", enumerate(map(float, load[:, k])))
        if np.isfinite(cap[:, k]).all():
            _sampled(prim, "twin:capacity_bps", "double", enumerate(map(float, cap[:, k])))
        _sampled(prim, "twin:state", "token", enumerate(map(str, state[:, k])))
        if weight is not None and not np.all(weight[:, k] == weight[0, k]):
            _sampled(prim, "twin:weight", "double", enumerate(map(float, weight[:, k])))
        rgb = np.where(up[:, k, None], UTILIZATION_MAP(100.0 * util[:, k]), srgb_to_linear([LINK_DOWN]))
        _sampled(prim, "primvars:displayColor", "color3f[]", _color_samples(rgb),
                 custom=False, interpolation="constant")


def _sites(layer: Sdf.Layer, twin: Twin, result: ScenarioResult) -> None:
    names = prim_names(twin.sites)
    n = len(result.steps)
    load = np.array([s.site_load_bps for s in result.steps], float).reshape(n, -1)
    power = np.array([s.site_power_w for s in result.steps], float).reshape(n, -1)
    for k, sid in enumerate(result.site_ids):
        if sid not in names:
            raise ValueError(f"scenario '{result.name}': site '{sid}' is not in the twin")
        path = f"{SITES_PATH}/{names[sid]}"
        prim = _over(layer, path)
        states = [s.site_state[k] for s in result.steps]
        _sampled(prim, "twin:state", "token", enumerate(states))
        _sampled(prim, "twin:load_bps", "double", enumerate(map(float, load[:, k])))
        if np.isfinite(power[:, k]).any():        # sites without cells have no energy model
            _sampled(prim, "twin:power_w", "double", enumerate(map(float, power[:, k])))
        # the part network.py draws: a building block for nodes, else a mast
        part = "Building" if twin.sites[sid].kind.lower() in NODE_KINDS else "Tower"
        rgb = np.array([site_state_color(s) for s in states], np.float32)
        _sampled(_over(layer, f"{path}/{part}"), "primvars:displayColor", "color3f[]",
                 _color_samples(rgb), custom=False, interpolation="constant")
        _cells(prim, twin.sites[sid], states, result)


def _cells(prim: Sdf.PrimSpec, site, states: list[str], result: ScenarioResult) -> None:
    """Per-cell state and changed parameters of a site, when events touch its cells."""
    ids = [f"{site.id}/{k + 1}" for k in range(len(site.cells))]
    steps = result.steps
    if any(c in s.cell_sleep for s in steps for c in ids):
        samples = [(t, Vt.TokenArray([("sleep" if c in s.cell_sleep else "up") if st == "up" else st
                                      for c in ids]))
                   for t, (s, st) in enumerate(zip(steps, states))]
        _sampled(prim, "twin:cell_state", "token[]", samples)
    if any(c in s.cell_params for s in steps for c in ids):
        for name in ("tilt_deg", "p_tx_dbm", "azimuth_deg"):
            samples = [(t, Vt.FloatArray([float(s.cell_params.get(c, {}).get(name, getattr(cell, name)))
                                          for c, cell in zip(ids, site.cells)]))
                       for t, s in enumerate(steps)]
            _sampled(prim, f"twin:cell_{name}", "float[]", samples)


def signal_sample_steps(keys: list) -> list[int]:
    """Steps at which the signal meshes get a sample, for per-step map keys.

    Step 0, every step whose map differs from the step before, and the step
    before each such change (a copy of the old map), so that sampled values
    at integer time codes never blend two maps.

    Examples
    --------
    >>> signal_sample_steps(["a"] * 10 + ["b"] * 4 + ["a"] * 10)
    [0, 9, 10, 13, 14]
    >>> signal_sample_steps(["a", "b", "b"])
    [0, 1]
    """
    out: list[int] = []
    for t in range(len(keys)):
        if t == 0 or keys[t] != keys[t - 1]:
            if t > 0 and out[-1] != t - 1:
                out.append(t - 1)
            out.append(t)
    return out


def _signal(layer: Sdf.Layer, result: ScenarioResult, maps: Mapping[bytes, RadioMap],
            signal_key: bytes | None) -> list[int]:
    keys = [s.radio_key for s in result.steps]
    used = set(keys) - {None}
    if not used or None in keys:
        return []
    if len(used) == 1 and (signal_key is None or keys[0] == signal_key):
        return []       # the signal layer already shows the scenario's only map
    missing = [k.hex() for k in used if k not in maps]
    if missing:
        raise ValueError(f"scenario '{result.name}': no radio map for key(s) {', '.join(missing)}")
    # One Vt array per map and attribute, shared by every sample of that map.
    vt_of = {k: {mesh: [(a, tn, vt(v, tn)) for a, tn, v in attrs]
                 for mesh, attrs in signal_primvars(maps[k]).items()} for k in used}
    times = signal_sample_steps(keys)
    first = vt_of[keys[0]]
    for mesh, attrs in first.items():
        prim = _over(layer, f"{SIGNAL_PATH}/{mesh}")
        for n, (attr, type_name, _) in enumerate(attrs):
            _sampled(prim, attr, type_name, [(t, vt_of[keys[t]][mesh][n][2]) for t in times],
                     custom=False, interpolation="uniform")
    return times


def _step_key(t: int, steps: int) -> str:
    return f"t{t:0{len(str(max(steps - 1, 0)))}d}"


def _vt_value(value: Any) -> Any:
    """Python/numpy data -> what a USD dictionary can hold (typed arrays).

    A list of strings becomes string[], of ints int[], of other numbers
    double[]; an empty list string[]. Dictionary entries that are None are
    left out.
    """
    if isinstance(value, (Vt.IntArray, Vt.DoubleArray, Vt.StringArray)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _vt_value(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(value)
        if all(isinstance(v, str) for v in items):
            return Vt.StringArray(items)
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items):
            return Vt.IntArray([int(v) for v in items])
        return Vt.DoubleArray([float(v) for v in items])
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return str(value)


def _kpi_columns(rows: list[dict]) -> dict[str, Any]:
    """KPI rows -> {kpi: array over steps}; NaN where a step lacks it; all-NaN columns dropped."""
    names = list(dict.fromkeys(k for r in rows for k in r))
    out: dict[str, Any] = {}
    for k in names:
        col = [r.get(k) for r in rows]
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in col):
            out[k] = [int(v) for v in col]
            continue
        vals = [float("nan") if v is None else float(v) for v in col]
        if not all(math.isnan(v) for v in vals):
            out[k] = vals
    return out


def kpi_rows(kpis: Mapping[str, Any]) -> list[dict]:
    """The KPI table of a scenario layer back as rows (NaN values left out).

    Parameters
    ----------
    kpis : mapping
        ``customLayerData["twin3d"]["kpis"]`` of a scenario layer.

    Returns
    -------
    list of dict
        ``[{"t": 0, "hour": 0.0, "coverage_pct": ..., ...}, ...]``, as
        :meth:`ScenarioResult.kpi_table` with its NaN entries dropped.
    """
    n = len(kpis["t"])
    rows: list[dict] = [{} for _ in range(n)]
    for k, col in kpis.items():
        for i, v in enumerate(col):
            if isinstance(v, float) and math.isnan(v):
                continue
            rows[i][k] = v
    return rows


def scenario_metadata(result: ScenarioResult,
                      time_codes_per_second: float = TIME_CODES_PER_SECOND) -> dict[str, Any]:
    """The scenario's entries of ``customLayerData["twin3d"]`` (plain Python values)."""
    spec = result.spec
    n = len(result.steps)
    rows = result.kpi_table()
    kpis = _kpi_columns(rows)
    events = {_step_key(s.t, n): list(s.events) for s in result.steps if s.events}
    cascades = {_step_key(s.t, n): {"t": s.t, "hour": float(s.hour),
                                    "waves": {f"wave{w['wave']}": w for w in s.waves}}
                for s in result.steps if s.waves}
    return {
        "scenario": result.name, "description": spec.description or "", "steps": n,
        "step_s": float(spec.step_s), "start_hour": float(spec.start_hour),
        "profile": spec.profile, "time_codes_per_second": float(time_codes_per_second),
        "kpis": kpis, "kpi_units": {k: KPI_UNITS[k] for k in kpis if k in KPI_UNITS},
        "events": events, "cascades": cascades,
    }


def write_scenario_layer(twin: Twin, result: ScenarioResult, path: Path,
                         signal_maps: Mapping[bytes, RadioMap] | None = None, *,
                         signal_key: bytes | None = None,
                         time_codes_per_second: float = TIME_CODES_PER_SECOND) -> Path:
    """Write one scenario as a layer of time-sampled overs.

    Parameters
    ----------
    twin : Twin
        The twin the scenario ran on (prim names and stage metadata).
    result : ScenarioResult
        The run (:func:`twin3d.sim.engine.simulate`).
    path : Path
        The layer file, ``layers/scenarios/<name>.usdc``.
    signal_maps : mapping of radio key -> RadioMap, optional
        Radio maps by ``StepResult.radio_key``; default ``result.radio_maps``.
        Pass ``{}`` to leave the signal meshes alone.
    signal_key : bytes, optional
        Radio key of the map the signal layer holds. When given, a scenario
        that used one map other than it also samples the signal meshes;
        otherwise they are sampled only when the map changes during the run.
    time_codes_per_second : float
        Playback rate (steps per second); the root stage must use the same.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        The result names a link or site the twin does not have, or a step's
        radio map is missing from ``signal_maps``.
    """
    maps = result.radio_maps if signal_maps is None else signal_maps
    layer = new_layer(Path(path))
    with Sdf.ChangeBlock():
        set_stage_metadata(layer, twin)
        set_time_metadata(layer, len(result.steps), time_codes_per_second)
        _links(layer, twin, result)
        _sites(layer, twin, result)
        times = _signal(layer, result, maps, signal_key) if maps else []
        meta = {**georef_metadata(twin.frame, twin.name), **_provenance_of(layer),
                **scenario_metadata(result, time_codes_per_second),
                "signal_steps": Vt.IntArray(times)}
        layer.customLayerData = {"twin3d": _vt_value(meta)}
        layer.documentation = f"twin3d scenario '{result.name}' of scene '{twin.name}'"
    layer.Save()
    return Path(path)
