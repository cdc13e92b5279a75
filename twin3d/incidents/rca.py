"""Counterfactual root-cause analysis: which fault, simulated in the twin, explains the alarms?

For one incident window:

1. Simulate the window without any fault: the twin's expectation.
2. A failure already there when the window opens (a repair in progress) is
   found first and kept in every hypothesis after it.
3. The onset is the first step the data leave the expectation by more than
   noise allows (:func:`~twin3d.incidents.hypotheses.excess_per_step`).
4. Hypotheses come from the alarms, the telemetry and the topology
   (:func:`~twin3d.incidents.hypotheses.propose`); each is simulated from
   its onset with the twin's physics and cascades, and scored by how well
   its telemetry and alarms match the observed ones
   (:mod:`~twin3d.incidents.scoring`). Magnitudes (a surge's factor, an
   attack's bit/s, a degradation's factor) are refined on the best ones.
5. ``none`` competes: its loss is the expectation's; a fault pays
   :data:`FAULT_PRIOR` for being a fault, so healthy noise is not blamed on
   an element.
6. The best candidates are verified by intervention: the fault is removed
   in the twin, and the symptoms it explains must clear.

Scores are a softmax of -loss / 2 over the candidates: a higher score is more
likely, and the scores of a ranking sum to 1.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .faults import Fault, WindowSpec
from .fit import Screen, magnitude_grid
from .hypotheses import (background_candidates, excess_per_step, first_state_change, onset_estimate,
                         propose)
from .scoring import first_outlier_step, metric_floors, step_losses, total_loss
from .telemetry import ALARMS, Telemetry, _SignalStats
from .window import WindowRun, causal_chain, run_window

__all__ = ["RcaSettings", "rank_root_causes", "correlation_baseline", "FAULT_PRIOR"]

#: Kinds whose magnitude is fitted.
MAGNITUDE_KINDS = ("surge", "ddos", "capacity_degradation")
#: Loss a fault hypothesis pays for being a fault (against ``none``).
FAULT_PRIOR = 16.0


@dataclass(frozen=True)
class RcaSettings:
    """The noise the data carry (from the manifest) and how hard to search."""

    rel_noise: float = 0.02
    alarm_delay_steps: int = 2
    onset_threshold: float = 6.0
    top: int = 5
    refine: int = 2
    shortlist: int = 8
    coarse_fits: int = 6


def _run(sim, window, faults, base: WindowRun, onset: int, signal) -> WindowRun:
    return run_window(sim, window, faults, signal, first_step=max(0, onset), prefix=base)


def rank_root_causes(sim, window: WindowSpec, obs: Telemetry,
                     settings: RcaSettings = RcaSettings()) -> list[dict]:
    """Ranked root causes of one incident window.

    Parameters
    ----------
    sim : twin3d.sim.engine.Simulator
        The scene's simulator (the twin).
    window : WindowSpec
        The window's start hour, steps, step length and demand factor.
    obs : Telemetry
        The observed telemetry and alarms (NaN for missing samples).
    settings : RcaSettings

    Returns
    -------
    list of dict
        ``{"element", "fault_kind", "score", "explanation", "onset_step",
        "loss", "verified"}``, best first; ``none`` has element "".
    """
    signal = _SignalStats()
    s = settings
    clean = run_window(sim, window, [], signal)
    floors = metric_floors(clean.telemetry)

    def loss(run: WindowRun) -> float:
        return total_loss(obs, run.telemetry, floors, s.rel_noise, s.alarm_delay_steps)

    # a failure under repair when the window opened
    background: list[Fault] = []
    base = clean
    base_loss = loss(base)
    # forward selection: the candidate that explains most, while it pays its prior
    candidates = background_candidates(sim, obs, base.telemetry)
    for _ in range(2):
        trials = [(loss(run), f, run) for f in candidates
                  for run in [run_window(sim, window, background + [f], signal)]]
        if not trials:
            break
        l, f, run = min(trials, key=lambda x: x[0])
        if l + FAULT_PRIOR >= base_loss:
            break
        background, base, base_loss = background + [f], run, l
        candidates = [c for c in candidates if c.element != f.element]
    excess = excess_per_step(step_losses(obs, base.telemetry, floors, s.rel_noise,
                                         s.alarm_delay_steps), obs)
    onset = onset_estimate(excess, s.onset_threshold, start=1 if background else 0)
    for first in (first_state_change(obs, base.telemetry, start=1 if background else 0),
                  first_outlier_step(obs, base.telemetry, floors, s.rel_noise,
                                     start=1 if background else 0)):
        if first is not None and (onset is None or first < onset):
            onset = first
    if onset is None:       # nothing stands out: still rank faults where the data move most
        onset = int(np.argmax(excess[1:]) + 1) if background and obs.steps > 1 else int(np.argmax(excess))

    scored: list[tuple[float, Fault, WindowRun]] = []
    tried = set()

    def trial(f: Fault) -> None:
        key = (f.kind, f.element, f.onset, None if f.magnitude is None else round(f.magnitude, 6))
        if key in tried:
            return
        tried.add(key)
        run = _run(sim, window, background + [f], base, f.onset, signal)
        scored.append((loss(run) + FAULT_PRIOR, f, run))

    # screen every proposal on its onset step, magnitudes fitted there; then
    # score the best few (element, kind) over the whole window
    screen = Screen(sim, window, obs, base, background, floors, s.rel_noise, signal)
    best_of: dict[tuple[str, str], tuple[float, Fault]] = {}
    for f in propose(sim, obs, base.telemetry, onset):
        key = (f.element, f.kind)
        if f.kind in MAGNITUDE_KINDS:
            if key in best_of:          # fitted once over the whole grid
                continue
            f = screen.fit(f, magnitude_grid(sim, f))
        l = screen.loss(f)
        if key not in best_of or l < best_of[key][0]:
            best_of[key] = (l, f)
    # a surge or attack can trip links far from its site and leave the site's own
    # traffic lower, not higher: every live site is screened at a few sizes, and
    # the best few fitted
    coarse = []
    for kind in ("surge", "ddos"):
        for site in obs.elements["site"]:
            if (site, kind) in best_of:
                continue
            f = Fault(kind, site, onset)
            grid = magnitude_grid(sim, f)
            if not grid:
                continue
            picks = grid[::2]
            coarse.append((min(screen.loss(replace(f, magnitude=m)) for m in picks), f))
    for _, f in sorted(coarse, key=lambda x: x[0])[:s.coarse_fits]:
        f = screen.fit(f, magnitude_grid(sim, f))
        best_of[(f.element, f.kind)] = (screen.loss(f), f)
    for _, f in sorted(best_of.values(), key=lambda x: x[0])[:s.shortlist]:
        trial(f)
    # refine the best few distinct (element, kind) over the whole window: the
    # onset a step either side, and the magnitude
    for r in range(s.refine):
        scored.sort(key=lambda x: x[0])
        lead: dict[tuple[str, str], Fault] = {}
        for _, f, _ in scored:
            if len(lead) >= 3:
                break
            lead.setdefault((f.element, f.kind), f)
        for f in lead.values():
            for d in (-1, 1):
                if 0 <= f.onset + d < obs.steps:
                    trial(replace(f, onset=f.onset + d))
            if f.magnitude is not None and f.kind in MAGNITUDE_KINDS:
                for m in (0.85, 1.18):
                    mag = f.magnitude * m
                    if f.kind == "capacity_degradation":
                        mag = min(0.99, mag)
                    trial(replace(f, magnitude=mag))
    scored.sort(key=lambda x: x[0])

    # one entry per (element, kind): its best onset and magnitude; none competes
    best: dict[tuple[str, str], tuple[float, Fault, WindowRun]] = {}
    for item in scored:
        best.setdefault((item[1].element, item[1].kind), item)
    entries = sorted(best.values(), key=lambda x: x[0])
    none_fault = Fault("none", "", onset)
    entries.append((base_loss, none_fault, base))
    entries.sort(key=lambda x: (x[0], x[1].kind != "none"))     # a tie goes to none
    entries = entries[:max(s.top, 1)]
    losses = np.array([e[0] for e in entries])
    w = np.exp(-(losses - losses.min()) / 2.0)
    scores = w / w.sum()
    out = []
    for (l, f, run), sc in zip(entries, scores):
        verified, note = _verify(obs, run, base, floors, s) if f.kind != "none" else (None, "")
        out.append({"element": f.element, "fault_kind": f.kind, "score": float(sc),
                    "explanation": _explain(sim, f, run, base, background, note),
                    "onset_step": int(f.onset), "loss": float(l), "verified": verified,
                    "magnitude": f.magnitude})
    return out


def _verify(obs: Telemetry, run: WindowRun, base: WindowRun, floors, s) -> tuple[bool, str]:
    """Remove the fault in the twin (the base run) and check that its symptoms clear.

    The symptoms a hypothesis explains are the alarm series it predicts that
    the fault-free twin does not, and the loss it removes. Verified when
    at least half of those alarms are observed and clear without the fault,
    and the data are further from the fault-free twin than from the
    hypothesis by more than the fault prior.
    """
    new = 0
    seen = 0
    for name in ALARMS:
        p, b, o = run.telemetry.alarms[name], base.telemetry.alarms[name], obs.alarms[name]
        if p.size == 0:
            continue
        series = p.any(axis=0) & ~b.any(axis=0)
        new += int(series.sum())
        seen += int((series & o.any(axis=0)).sum())
    gain = (total_loss(obs, base.telemetry, floors, s.rel_noise, s.alarm_delay_steps)
            - total_loss(obs, run.telemetry, floors, s.rel_noise, s.alarm_delay_steps))
    ok = gain > FAULT_PRIOR and (new == 0 or seen * 2 >= new)
    note = (f"removing it in the twin clears {seen} of {new} new alarm series it explains "
            f"and {gain:.0f} units of misfit")
    return bool(ok), note


def _bps(x: float) -> str:
    return f"{x / 1e9:.3g} Gbit/s" if abs(x) >= 1e8 else f"{x / 1e6:.3g} Mbit/s"


def _explain(sim, f: Fault, run: WindowRun, base: WindowRun, background: list[Fault],
             note: str) -> str:
    """The simulated causal chain in words."""
    pre = ""
    if background:
        pre = "; ".join(f"{b.kind} of {b.element} already in progress"
                        + (f" until step {b.until}" if b.until is not None else "") for b in background)
        pre = f"({pre}) "
    if f.kind == "none":
        return pre + "nothing beyond noise: the fault-free twin explains the data best"
    chain = causal_chain(sim, run, base)
    mag = ""
    if f.magnitude is not None:
        mag = {"surge": f" x{f.magnitude:.2g}", "ddos": f" of {_bps(f.magnitude)}",
               "capacity_degradation": f" to {100 * f.magnitude:.0f} % capacity",
               "misconfiguration": f" to weight {f.magnitude:g}"}.get(f.kind, "")
    parts = [f"{pre}{f.kind} of {f.element}{mag} at step {f.onset}"]
    moved = [e for e in chain["effects"] if e["cause"] == f.element]
    if moved:
        parts.append("moved " + ", ".join(
            f"{_bps(e['load_after_bps'] - e['load_before_bps'])} onto {e['element']} "
            f"(utilization {e['util_after']:.2f})" for e in moved))
    trips = [w for w in chain["waves"] if w["step"] >= f.onset]
    base_trips = {(w["step"], tuple(w["tripped"])) for w in causal_chain(sim, base, base)["waves"]}
    trips = [w for w in trips if (w["step"], tuple(w["tripped"])) not in base_trips]
    if trips:
        parts.append("which tripped " + "; ".join(
            f"{', '.join(w['tripped'])} at step {w['step']} (wave {w['wave']})" for w in trips[:4]))
    text = ", ".join(parts)
    return f"{text}; {note}" if note else text


def correlation_baseline(obs: Telemetry, top: int = 5, standing_steps: int = 3) -> list[dict]:
    """The correlation answer: elements ranked by new alarm steps, then by earliest alarm.

    What a rule of thumb in a NOC does without a model: standing alarms (on
    in the window's first ``standing_steps`` steps) are ignored, and the element that shouts
    most, first, is blamed. ``none`` when no new alarm is raised.

    Examples
    --------
    >>> import numpy as np
    >>> from twin3d.incidents.telemetry import Telemetry, ALARMS
    >>> a = {n: np.zeros((5, 2 if k == "link" else 0), bool) for n, k in ALARMS.items()}
    >>> a["LOS"][3:, 1] = True
    >>> tel = Telemetry({"link": ["link:A", "link:B"], "site": [], "cell": []}, {}, a)
    >>> correlation_baseline(tel)[0]["element"]
    'link:B'
    """
    count: dict[str, int] = {}
    first: dict[str, int] = {}
    for name, kind in ALARMS.items():
        a = obs.alarms[name]
        if a.size == 0:
            continue
        for i in np.flatnonzero(a.any(axis=0) & ~a[:standing_steps].any(axis=0)):
            e = obs.elements[kind][i]
            count[e] = count.get(e, 0) + int(a[:, i].sum())
            first[e] = min(first.get(e, 1 << 30), int(np.argmax(a[:, i])))
    ranked = sorted(count, key=lambda e: (-count[e], first[e], e))[:top]
    if not ranked:
        return [{"element": "", "fault_kind": "none", "score": 1.0,
                 "explanation": "no new alarm raised"}]
    total = sum(count[e] for e in ranked)
    return [{"element": e, "fault_kind": "", "score": count[e] / total,
             "explanation": f"{count[e]} alarm steps, first at step {first[e]}"} for e in ranked]
