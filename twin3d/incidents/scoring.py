"""How well simulated telemetry explains observed telemetry, robust to noise.

The loss of a prediction is a clipped sum of squared standardized errors
over every observed sample, plus a cost per alarm step that does not match
within the alarm delay:

- a sample's error is ``(observed - predicted) / (rel x |predicted| + floor)``,
  with ``rel`` the measurement noise (2 % by default) and ``floor`` a small
  absolute scale per metric (a thousandth of its typical baseline value), so
  exact zeros do not make infinite errors;
- each squared error is clipped at ``clip**2``: one wild sample (noise, a
  flap) costs a bounded amount, while a real symptom costs on every sample it
  touches;
- a missing observed sample costs nothing; an observed sample that the
  prediction says cannot exist (a dead element reporting) costs ``clip**2``,
  and a predicted sample that is missing costs :data:`MISSING_COST` (missing
  samples are rare, so a dead element is told apart from a quiet one);
- a predicted alarm step is matched by an observed one up to ``delay`` steps
  later, an observed one by a predicted one up to ``delay`` steps earlier;
  each unmatched step costs :data:`ALARM_COST`.

A loss is in units of squared standard errors, so the loss difference of two
hypotheses reads like a log-likelihood ratio (x 2).
"""

from __future__ import annotations

import numpy as np

from .telemetry import ALARMS, METRICS, Telemetry

__all__ = ["first_outlier_step", "metric_floors", "telemetry_loss", "alarm_loss", "total_loss", "step_losses",
           "ALARM_COST", "MISSING_COST"]

#: Cost of one alarm step with no counterpart within the delay.
ALARM_COST = 2.0
#: Cost of a predicted sample that was not observed (-2 ln 0.1: rare, not impossible).
MISSING_COST = 4.6
#: Exact metrics: a state, not a measurement (no noise is applied to them).
EXACT = {"oper_up", "speed_bps"}


def metric_floors(baseline: Telemetry) -> dict[str, dict[str, float]]:
    """Absolute error floor per metric: 1e-3 x the median non-zero |baseline value| (1e-6 if none)."""
    out = {}
    for kind, ms in baseline.values.items():
        out[kind] = {}
        for m, v in ms.items():
            a = np.abs(v[np.isfinite(v) & (v != 0)])
            out[kind][m] = 1e-3 * float(np.median(a)) if a.size else 1e-6
            if m == "oper_up":
                out[kind][m] = 0.05
    return out


def telemetry_loss(obs: Telemetry, pred: Telemetry, floors: dict, rel: float = 0.02,
                   clip: float = 4.0, per_step: bool = False):
    """Clipped standardized squared error of ``pred`` against ``obs`` (see the module).

    Returns a float, or (steps,) floats with ``per_step``.
    """
    total = np.zeros(obs.steps)
    c2 = clip * clip
    for kind, ms in obs.values.items():
        for m, o in ms.items():
            if o.size == 0:
                continue
            p = pred.values[kind][m]
            fin_o, fin_p = np.isfinite(o), np.isfinite(p)
            both = fin_o & fin_p
            r = 0.0 if m in EXACT else rel
            with np.errstate(invalid="ignore"):
                z = np.where(both, (o - p) / (r * np.abs(p) + floors[kind][m]), 0.0)
            cost = np.minimum(z * z, c2)
            cost += np.where(fin_o & ~fin_p, c2, 0.0) + np.where(~fin_o & fin_p, MISSING_COST, 0.0)
            total += cost.sum(axis=1)
    return total if per_step else float(total.sum())


def first_outlier_step(obs: Telemetry, pred: Telemetry, floors: dict, rel: float = 0.02,
                       z_min: float = 6.0, start: int = 0) -> int | None:
    """The first step from ``start`` with a sample ``z_min`` standard errors from ``pred``.

    Noise alone puts a sample 6 standard errors out about once in 5e8; a
    fault on a quiet element moves few samples, which the per-step sum of
    :func:`telemetry_loss` dilutes, but moves them far.
    """
    hit = np.zeros(obs.steps, dtype=bool)
    for kind, ms in obs.values.items():
        for m, o in ms.items():
            if o.size == 0 or m in EXACT:
                continue
            p = pred.values[kind][m]
            both = np.isfinite(o) & np.isfinite(p)
            with np.errstate(invalid="ignore"):
                z = np.where(both, np.abs(o - p) / (rel * np.abs(p) + floors[kind][m]), 0.0)
            hit |= (z > z_min).any(axis=1)
    idx = np.flatnonzero(hit[start:])
    return None if idx.size == 0 else int(start + idx[0])


def _shift(a: np.ndarray, k: int) -> np.ndarray:
    """``a`` moved ``k`` steps later (k > 0) or earlier (k < 0), zeros shifted in."""
    out = np.zeros_like(a)
    if k > 0:
        out[k:] = a[:-k]
    elif k < 0:
        out[:k] = a[-k:]
    else:
        out[:] = a
    return out


def alarm_loss(obs: Telemetry, pred: Telemetry, delay: int = 2, per_step: bool = False):
    """Unmatched alarm steps x :data:`ALARM_COST`, with alarms late by up to ``delay`` steps."""
    total = np.zeros(obs.steps)
    for name in ALARMS:
        o, p = obs.alarms[name], pred.alarms[name]
        if o.size == 0:
            continue
        o_later = np.zeros_like(o)
        p_earlier = np.zeros_like(p)
        for k in range(delay + 1):
            o_later |= _shift(o, -k)     # observed at t..t+delay
            p_earlier |= _shift(p, k)    # predicted at t-delay..t
        miss = (p & ~o_later).sum(axis=1) + (o & ~p_earlier).sum(axis=1)
        total += ALARM_COST * miss
    return total if per_step else float(total.sum())


def total_loss(obs: Telemetry, pred: Telemetry, floors: dict, rel: float = 0.02,
               delay: int = 2) -> float:
    """:func:`telemetry_loss` plus :func:`alarm_loss`."""
    return telemetry_loss(obs, pred, floors, rel) + alarm_loss(obs, pred, delay)


def step_losses(obs: Telemetry, pred: Telemetry, floors: dict, rel: float = 0.02,
                delay: int = 2) -> np.ndarray:
    """(steps,) loss of each step: where the prediction stops explaining the data."""
    return telemetry_loss(obs, pred, floors, rel, per_step=True) + alarm_loss(obs, pred, delay, True)


def metric_names() -> list[tuple[str, str]]:
    """Every (element kind, metric) pair, in table order."""
    return [(k, m) for k, ms in METRICS.items() for m in ms]
