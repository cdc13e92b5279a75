"""Candidate root causes from the alarms, the telemetry and the topology.

Each rule reads what the observed window shows against the twin's fault-free
window and proposes faults that could cause it, with a first estimate of the
fault's magnitude. Proposing too many costs time; missing the true cause
costs accuracy, so every rule errs towards proposing.
"""

from __future__ import annotations

import numpy as np

from ..ids import parse_id
from .faults import Fault
from .scoring import EXACT
from .telemetry import Telemetry, link_ends

__all__ = ["noisy_sample_count", "onset_estimate", "first_state_change", "propose", "background_candidates", "excess_per_step"]

#: Misconfigured weights tried, as multiples of the link's weight: a link that
#: lost traffic was made dearer, one that gained was made cheaper.
WEIGHT_UP = (8.0, 32.0)
WEIGHT_DOWN = (0.125,)
#: First magnitudes of a surge factor, an attack (a share of the capacity of the
#: target's links) and a degradation of a tripped link: only a starting point,
#: since RCA fits every magnitude over its own grid (:mod:`.fit`).
SURGE_START = 2.0
DDOS_START_SHARE = 0.25
DEGRADE_START = 0.15


def noisy_sample_count(obs: Telemetry) -> np.ndarray:
    """(steps,) observed samples that carry measurement noise: finite, non-zero, not a state."""
    n = np.zeros(obs.steps)
    for ms in obs.values.values():
        for m, v in ms.items():
            if v.size and m not in EXACT:
                n += (np.isfinite(v) & (v != 0)).sum(axis=1)
    return n


def excess_per_step(step_loss: np.ndarray, obs: Telemetry) -> np.ndarray:
    """How far each step's loss exceeds what noise alone gives, in standard deviations.

    Noise alone gives a loss near the number of noisy samples (each a
    squared standard error of mean 1), with a standard deviation near the
    square root of twice that (plus a margin for the clipping and flaps).
    """
    n = noisy_sample_count(obs)
    return (step_loss - n) / np.sqrt(2.0 * np.maximum(n, 1.0) + 100.0)


def onset_estimate(excess: np.ndarray, threshold: float = 6.0, start: int = 0) -> int | None:
    """The first step from ``start`` whose excess passes ``threshold``; None if none does."""
    hit = np.flatnonzero(excess[start:] > threshold)
    return None if hit.size == 0 else int(start + hit[0])


def first_state_change(obs: Telemetry, base: Telemetry, start: int = 0) -> int | None:
    """The first step from ``start`` where a link's state or a site's life differs from ``base``.

    States are exact (no measurement noise), so one differing sample is a
    symptom, however little traffic it moves.
    """
    up_o, up_b = obs.values["link"]["oper_up"], base.values["link"]["oper_up"]
    link = (np.isfinite(up_o) & np.isfinite(up_b) & (up_o != up_b)).any(axis=1)
    site = (_site_reports(obs) != _site_reports(base)).any(axis=1)
    hit = np.flatnonzero((link | site)[start:])
    return None if hit.size == 0 else int(start + hit[0])


def _site_reports(tel: Telemetry) -> np.ndarray:
    """(steps, n_sites) bool: the site reported some metric at that step."""
    return np.isfinite(np.stack(list(tel.values["site"].values()))).any(axis=0)


def _dead_sites(tel: Telemetry, steps: slice) -> np.ndarray:
    """(n_sites,) bool: no site metric reported in most of ``steps``."""
    reported = _site_reports(tel)[steps]
    return reported.mean(axis=0) < 0.5 if reported.shape[0] else np.zeros(reported.shape[1], bool)


def _post_median(a: np.ndarray, steps: slice) -> np.ndarray:
    x = a[steps]
    out = np.full(x.shape[1], np.nan)
    ok = np.isfinite(x).any(axis=0)
    if ok.any():
        out[ok] = np.nanmedian(x[:, ok], axis=0)
    return out


def background_candidates(sim, obs: Telemetry, base: Telemetry) -> list[Fault]:
    """Failures already there at step 0 (a fault under repair when the window opens).

    Links down at step 0 that the twin has up, and sites silent at step 0
    that the twin has alive; each repaired at the first step it reports
    normally again (None if it never does).
    """
    els = obs.elements
    out: list[Fault] = []
    up_o, up_b = obs.values["link"]["oper_up"], base.values["link"]["oper_up"]
    for i in np.flatnonzero((up_o[0] == 0) & (up_b[0] == 1)):
        back = np.flatnonzero(up_o[:, i] == 1)
        out.append(Fault("fiber_cut", els["link"][i], 0, until=int(back[0]) if back.size else None))
    dead0 = _dead_sites(obs, slice(0, 1)) & ~_dead_sites(base, slice(0, 1))
    for i in np.flatnonzero(dead0):
        back = np.flatnonzero(_site_reports(obs)[:, i])
        until = int(back[0]) if back.size else None
        power = obs.alarms["POWER"][:, i].any()
        out.append(Fault("power_outage" if power else "site_outage", els["site"][i], 0, until=until))
    return out


def propose(sim, obs: Telemetry, base: Telemetry, onset: int, max_per_rule: int = 4) -> list[Fault]:
    """Candidate faults starting at ``onset`` (deduplicated, in rule order)."""
    els = obs.elements
    post = slice(onset, obs.steps)
    out: list[Fault] = []

    # links that lost light
    up_o = obs.values["link"]["oper_up"][post]
    up_b = base.values["link"]["oper_up"][post]
    los_new = ((up_o == 0) & (up_b == 1)).any(axis=0)
    los_new |= (obs.alarms["LOS"][post] & ~base.alarms["LOS"][post]).any(axis=0)
    ends = link_ends(sim)
    dead = _dead_sites(obs, post) & ~_dead_sites(base, post)
    for i in np.flatnonzero(los_new):
        if not (dead[ends[i, 0]] or dead[ends[i, 1]]):
            out.append(Fault("fiber_cut", els["link"][i], onset))

    # sites that went silent, lost power, or whose links and cells all went down
    power = (obs.alarms["POWER"][post] & ~base.alarms["POWER"][post]).any(axis=0)
    suspects = set(np.flatnonzero(dead | power).tolist())
    if obs.alarms["CELL_DOWN"].size:
        cs = sim.cell_site
        cd = (obs.alarms["CELL_DOWN"][post] & ~base.alarms["CELL_DOWN"][post]).any(axis=0)
        suspects |= set(cs[cd].tolist())
    for i in np.flatnonzero(los_new):
        suspects |= {int(ends[i, 0]), int(ends[i, 1])}
    ranked = sorted(suspects, key=lambda s: (not dead[s], not power[s], s))
    for s in ranked[:2 * max_per_rule]:
        for kind in (("power_outage", "site_outage") if power[s] else ("site_outage", "power_outage")):
            out.append(Fault(kind, els["site"][s], onset))

    # links whose operational speed fell (a LAG member or a wavelength lost)
    sp_o = _post_median(obs.values["link"]["speed_bps"][post], slice(None))
    sp_b = _post_median(base.values["link"]["speed_bps"][post], slice(None))
    with np.errstate(invalid="ignore", divide="ignore"):
        kept = np.where(np.isfinite(sp_o) & (sp_b > 0), sp_o / sp_b, 1.0)
    for i in np.flatnonzero(kept < 0.999):
        out.append(Fault("capacity_degradation", els["link"][i], onset, magnitude=float(kept[i])))
    # links whose implied capacity (load / utilization) fell
    lo, uo = obs.values["link"]["load_bps"][post], obs.values["link"]["util"][post]
    lb, ub = base.values["link"]["load_bps"][post], base.values["link"]["util"][post]
    with np.errstate(invalid="ignore", divide="ignore"):
        cap_o = np.where(uo > 1e-3, lo / uo, np.nan)
        cap_b = np.where(ub > 1e-3, lb / ub, np.nan)
    ratio = _post_median(cap_o, slice(None)) / _post_median(cap_b, slice(None))
    ratio = np.where(np.isfinite(ratio), ratio, 1.0)
    for i in np.argsort(ratio, kind="stable")[:max_per_rule]:
        if ratio[i] < 0.9:
            out.append(Fault("capacity_degradation", els["link"][i], onset,
                             magnitude=float(np.clip(ratio[i], 0.01, 0.99))))
    # a link that lost so much capacity that it tripped shows no utilization to read
    trip_new = (obs.alarms["LINK_DOWN"][post] & ~base.alarms["LINK_DOWN"][post]).any(axis=0)
    first_trip = sorted(np.flatnonzero(trip_new),
                        key=lambda i: int(np.argmax(obs.alarms["LINK_DOWN"][post][:, i])))
    for i in first_trip[:max_per_rule]:
        out.append(Fault("capacity_degradation", els["link"][i], onset, magnitude=DEGRADE_START))

    # links whose load moved without losing light: a changed IGP weight
    dl = _post_median(lo - lb, slice(None))
    scale = _post_median(lb, slice(None))
    cap = sim.link_capacity_bps
    rel = np.abs(np.nan_to_num(dl)) / (np.nan_to_num(scale) + 0.01 * cap)
    absd = np.abs(np.nan_to_num(dl)) / cap
    pick = list(dict.fromkeys([*np.argsort(-rel, kind="stable")[:max_per_rule],
                               *np.argsort(-absd, kind="stable")[:max_per_rule]]))
    # a link made much cheaper can draw so much that it trips
    for i in first_trip[:max_per_rule]:
        for m in WEIGHT_DOWN:
            out.append(Fault("misconfiguration", els["link"][i], onset,
                             magnitude=float(sim.link_weight[i]) * m))
    for i in pick:
        if los_new[i] or absd[i] < 1e-3:
            continue
        w0 = float(sim.link_weight[i])
        for m in (WEIGHT_UP if dl[i] < 0 else WEIGHT_DOWN):
            out.append(Fault("misconfiguration", els["link"][i], onset, magnitude=w0 * m))

    # sites whose own traffic grew: a surge (both ways) or an attack (inbound)
    sv = obs.values["site"]
    bv = base.values["site"]
    tin_o, tout_o = _post_median(sv["traffic_in_bps"], post), _post_median(sv["traffic_out_bps"], post)
    tin_b, tout_b = _post_median(bv["traffic_in_bps"], post), _post_median(bv["traffic_out_bps"], post)
    grow = np.nan_to_num((tin_o + tout_o) / np.maximum(tin_b + tout_b, 1.0), nan=0.0)
    din = np.nan_to_num(tin_o - tin_b, nan=0.0)
    if len(sim.cells):
        cs = sim.cell_site
        uo_ = np.nan_to_num(_post_median(obs.values["cell"]["users"], post))
        ub_ = np.nan_to_num(_post_median(base.values["cell"]["users"], post))
        users_o = np.bincount(cs, uo_, minlength=len(els["site"]))
        users_b = np.bincount(cs, ub_, minlength=len(els["site"]))
        grow = np.maximum(grow, users_o / np.maximum(users_b, 1.0))
    for i in np.argsort(-grow, kind="stable")[:max_per_rule]:
        if grow[i] > 1.05:
            out.append(Fault("surge", els["site"][i], onset, magnitude=float(grow[i])))
    for i in np.argsort(-din, kind="stable")[:max_per_rule]:
        if din[i] > 0.02 * max(float(tin_b[i]) if np.isfinite(tin_b[i]) else 0.0, 1.0):
            out.append(Fault("ddos", els["site"][i], onset, magnitude=float(din[i])))
    # a surge or attack big enough to trip the site's own links cuts its traffic
    # instead: live sites at the ends of links with new alarms, at a few sizes
    # (an attack scaled by the capacity of the site's links)
    hot = los_new | trip_new | (obs.alarms["HIGH_UTIL"][post] & ~base.alarms["HIGH_UTIL"][post]).any(axis=0)
    near = np.bincount(ends[hot].ravel(), minlength=len(els["site"])) if hot.any() \
        else np.zeros(len(els["site"]), int)
    shift = np.abs(np.log(np.maximum(tin_o + tout_o, 1.0) / np.maximum(tin_b + tout_b, 1.0)))
    shift = np.where(np.isfinite(shift), shift, 0.0)
    sites = [*np.argsort(-near, kind="stable")[:max_per_rule],
             *[i for i in np.argsort(-shift, kind="stable")[:max_per_rule] if shift[i] > 0.1]]
    for i in dict.fromkeys(int(x) for x in sites):
        if (near[i] == 0 and shift[i] <= 0.1) or dead[i]:
            continue
        cap_site = float(cap[(ends[:, 0] == i) | (ends[:, 1] == i)].sum())
        out.append(Fault("surge", els["site"][i], onset, magnitude=SURGE_START))
        out.append(Fault("ddos", els["site"][i], onset, magnitude=DDOS_START_SHARE * cap_site))

    # cells that stopped serving while their site lives
    if len(sim.cells):
        so = _post_median(obs.values["cell"]["served_bps"], post)
        sb = _post_median(base.values["cell"]["served_bps"], post)
        quiet = (np.nan_to_num(so, nan=np.inf) < 0.05 * np.nan_to_num(sb)) & (np.nan_to_num(sb) > 0)
        for i in np.flatnonzero(quiet)[:2 * max_per_rule]:
            out.append(Fault("cell_sleep_stuck", els["cell"][i], onset))

    seen, uniq = set(), []
    for f in out:
        key = (f.kind, f.element, f.magnitude)
        if key not in seen:
            seen.add(key)
            uniq.append(f)
    return uniq


def element_kind(element: str) -> str:
    """'link', 'site' or 'cell' of a typed id ('' for none)."""
    return parse_id(element)[0] if element else ""
