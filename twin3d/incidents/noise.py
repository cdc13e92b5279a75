"""Realistic noise on a window's telemetry, and its long form (one row per sample).

What an operator's collectors add to the physics (defaults of SANDBOX.md
section 6):

- **measurement noise**: each continuous sample is multiplied by
  ``1 + sigma x N(0, 1)`` (``sigma`` 2 %; on dBm and dB values too, so a
  -80 dBm RSRP moves by about 1.6 dB); ``prb_load`` stays in [0, 1],
  ``users`` stays a whole number; states (``oper_up``, ``speed_bps``, a
  configured value) and missing samples are left alone;
- **missing samples**: each sample is lost with probability 1 %; a lost or
  NaN sample is never written;
- **delayed alarms**: each alarm series (one alarm on one element) is
  shifted later by 0..2 steps, onset and clear alike; the steps before the
  shift repeat step 0's state (an alarm already raised before the window);
- **flapping**: each series with an active step flaps with probability
  5 %: every active step after its first is cleared with probability 1/2,
  so the alarm clears and re-raises;
- **spurious alarms**: with probability 5 % per incident, one alarm on a
  random element (of a kind the scene has) flaps on for 1 or 2 steps at a
  random step, with no fault behind it.

Every draw has a fixed shape whatever the values, so the same generator
state gives the same noise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .telemetry import ALARMS, METRICS, Telemetry

__all__ = ["NoiseSpec", "LongRows", "apply_noise", "ELEMENT_KINDS", "METRIC_NAMES", "ALARM_NAMES",
           "element_vocabulary"]

#: Element kinds in the order of the element vocabulary.
ELEMENT_KINDS = ("link", "site", "cell")
#: Every metric, in table order (names are unique across element kinds).
METRIC_NAMES = tuple(m for k in ELEMENT_KINDS for m in METRICS[k])
#: Every alarm, in table order.
ALARM_NAMES = tuple(ALARMS)
#: Metrics that are states, not measurements: never noised.
STATE_METRICS = ("oper_up", "speed_bps")
#: Metrics kept in their range after noise.
BOUNDED = {"prb_load": (0.0, 1.0)}
#: Metrics that count: rounded after noise.
COUNTS = ("users",)


@dataclass(frozen=True)
class NoiseSpec:
    """Noise settings (defaults: SANDBOX.md section 6).

    Parameters
    ----------
    measurement : float
        Relative standard deviation of the multiplicative measurement noise.
    missing : float
        Probability that a sample is lost.
    alarm_delay_max_steps : int
        Each alarm series is delayed by a uniform 0..this many steps.
    flapping : float
        Probability that an alarm series flaps.
    spurious : float
        Probability per incident of one spurious 1-2 step alarm.

    Examples
    --------
    >>> NoiseSpec().as_dict()["missing"], NoiseSpec.none().measurement
    (0.01, 0.0)
    """

    measurement: float = 0.02
    missing: float = 0.01
    alarm_delay_max_steps: int = 2
    flapping: float = 0.05
    spurious: float = 0.05

    @classmethod
    def none(cls) -> "NoiseSpec":
        """No noise at all: the long form holds the physics exactly."""
        return cls(0.0, 0.0, 0, 0.0, 0.0)

    def as_dict(self) -> dict:
        """JSON-ready settings, as recorded in manifest.json."""
        return asdict(self)


@dataclass
class LongRows:
    """Rows in long form: ``step`` (int32), ``element`` and ``name`` codes (int32).

    ``element`` indexes :func:`element_vocabulary`; ``name`` indexes
    :data:`METRIC_NAMES` (telemetry) or :data:`ALARM_NAMES` (alarms);
    ``value`` is float64 for telemetry, None for alarms.
    """

    step: np.ndarray
    element: np.ndarray
    name: np.ndarray
    value: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.step.size)


def element_vocabulary(elements: dict[str, list[str]]) -> list[str]:
    """Every typed id in one list: links, then sites, then cells."""
    return [e for k in ELEMENT_KINDS for e in elements[k]]


def _offsets(elements: dict[str, list[str]]) -> dict[str, int]:
    out, at = {}, 0
    for k in ELEMENT_KINDS:
        out[k], at = at, at + len(elements[k])
    return out


def apply_noise(telemetry: Telemetry, rng: np.random.Generator,
                spec: NoiseSpec | None = None) -> tuple[LongRows, LongRows]:
    """The observed long-form telemetry and alarm rows of a window.

    Parameters
    ----------
    telemetry : Telemetry
        Dense, noise-free telemetry (:func:`twin3d.incidents.window_telemetry`).
    rng : numpy.random.Generator
        The incident's noise generator.
    spec : NoiseSpec, optional
        Default: SANDBOX defaults.

    Returns
    -------
    (LongRows, LongRows)
        Telemetry rows ordered by step, element, metric; alarm rows (one per
        step an alarm is active) ordered by step, element, alarm.

    Examples
    --------
    >>> import numpy as np
    >>> from twin3d.incidents.telemetry import Telemetry
    >>> els = {"link": ["link:L"], "site": [], "cell": []}
    >>> vals = {"link": {m: np.ones((2, 1)) for m in METRICS["link"]},
    ...         "site": {m: np.ones((2, 0)) for m in METRICS["site"]},
    ...         "cell": {m: np.ones((2, 0)) for m in METRICS["cell"]}}
    >>> al = {a: np.zeros((2, 1 if k == "link" else 0), bool) for a, k in ALARMS.items()}
    >>> al["LOS"][1, 0] = True
    >>> tel, alarms = apply_noise(Telemetry(els, vals, al), np.random.default_rng(0), NoiseSpec.none())
    >>> len(tel) == 2 * len(METRICS["link"]), alarms.step.tolist(), [ALARM_NAMES[i] for i in alarms.name]
    (True, [1], ['LOS'])
    """
    spec = spec or NoiseSpec()
    return _telemetry_rows(telemetry, rng, spec), _alarm_rows(telemetry, rng, spec)


def _telemetry_rows(tel: Telemetry, rng: np.random.Generator, spec: NoiseSpec) -> LongRows:
    off = _offsets(tel.elements)
    steps, els, names, vals = [], [], [], []
    for k in ELEMENT_KINDS:
        for m in METRICS[k]:
            x = tel.values[k][m]
            T, n = x.shape
            noise = rng.standard_normal((T, n))
            lost = rng.random((T, n)) < spec.missing
            if m not in STATE_METRICS and spec.measurement > 0:
                x = x * (1.0 + spec.measurement * noise)
                if m in BOUNDED:
                    x = np.clip(x, *BOUNDED[m])
                elif m in COUNTS:
                    x = np.round(x)
            keep = ~np.isnan(x) & ~lost
            t, e = np.nonzero(keep)
            steps.append(t)
            els.append(e + off[k])
            names.append(np.full(t.size, METRIC_NAMES.index(m)))
            vals.append(x[t, e])
    return _ordered(steps, els, names, vals)


def _alarm_rows(tel: Telemetry, rng: np.random.Generator, spec: NoiseSpec) -> LongRows:
    off = _offsets(tel.elements)
    steps, els, names = [], [], []
    for j, (a, k) in enumerate(ALARMS.items()):
        x = tel.alarms[a]
        T, n = x.shape
        delay = rng.integers(0, spec.alarm_delay_max_steps + 1, n)
        flaps = rng.random(n) < spec.flapping
        clear = rng.random((T, n)) < 0.5
        src = np.maximum(0, np.arange(T)[:, None] - delay[None, :])
        y = x[src, np.arange(n)[None, :]] if n else x
        if n:
            first = np.cumsum(y, axis=0) == 1        # the series' first active step stays
            y = y & ~(clear & flaps[None, :] & ~first)
        t, e = np.nonzero(y)
        steps.append(t)
        els.append(e + off[k])
        names.append(np.full(t.size, j))
    # a spurious alarm: 1-2 steps on a random element, drawn whatever happens
    u, pick_a, pick_e, at, length = rng.random(), rng.random(), rng.random(), rng.random(), rng.random()
    sizes = np.array([tel.alarms[a].shape[1] for a in ALARM_NAMES])
    T = tel.steps
    if u < spec.spurious and sizes.any() and T:
        which = np.flatnonzero(sizes)
        j = int(which[int(pick_a * which.size)])
        e = int(pick_e * sizes[j])
        t0 = int(at * T)
        span = np.arange(t0, min(T, t0 + 1 + int(length < 0.5)))
        steps.append(span)
        els.append(np.full(span.size, e + off[ALARMS[ALARM_NAMES[j]]]))
        names.append(np.full(span.size, j))
    rows = _ordered(steps, els, names, None)
    if len(rows):               # a spurious alarm may repeat a real one: one row each
        key = np.stack([rows.step, rows.element, rows.name])
        keep = np.concatenate(([True], np.any(np.diff(key, axis=1) != 0, axis=0)))
        rows = LongRows(rows.step[keep], rows.element[keep], rows.name[keep])
    return rows


def _ordered(steps, els, names, vals) -> LongRows:
    s = np.concatenate(steps).astype(np.int32) if steps else np.zeros(0, np.int32)
    e = np.concatenate(els).astype(np.int32) if els else np.zeros(0, np.int32)
    n = np.concatenate(names).astype(np.int32) if names else np.zeros(0, np.int32)
    order = np.lexsort((n, e, s))
    v = None if vals is None else np.concatenate(vals).astype(np.float64)[order]
    return LongRows(s[order], e[order], n[order], v)
