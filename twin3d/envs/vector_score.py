"""The batched TrafficEngineering step's reward terms and link observations, in one pass.

:meth:`twin3d.envs.vector.BatchedTrafficEngineering._score` needs, per copy,
the served and dropped bit/s, the four weighted reward terms of
:func:`twin3d.envs.traffic.transport_reward`, whether the episode ends, and
the float32 link observations. In numpy that is some thirty calls on rows of
a few dozen values, each a few microseconds of overhead for nanoseconds of
work; :func:`score_rows` does the same arithmetic, operation for operation
and in the same order, in one compiled call (the batched env's tests compare
every observation, reward and term with the single environment bit for bit).

Examples
--------
One copy: 10 bit/s offered, 2 lost; its second link tripped in the cascade:

>>> rewards, terms, served, dropped, terminated, obs = score_rows(
...     np.array([10.0]), np.array([10.0]), np.array([8.0]), np.array([[0.5, 0.95]]),
...     np.zeros((1, 2)), np.array([[True, True]]), np.array([[True, False]]),
...     np.zeros((1, 2), np.int64), np.array([[3.0, 12.0]]), np.array([25.5]),
...     (1.0, 1.0, 0.5, 0.5), 0.9, 10.0, 0.5)
>>> served.tolist(), dropped.tolist(), terms[0].tolist(), terms[1].tolist(), obs[2].tolist()
([8.0], [2.0], [0.8], [-0.2], [[1.0, 0.0]])
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["score_rows"]


@njit(cache=True)
def score_rows(offered, demand_sum, delivered_sum, util, load, link_up, up_after, rung, lat_ms,
               hours, weights, util_max, p95_sla_ms, min_served):  # pragma: no cover - compiled
    """Reward terms and link observations of m copies.

    Parameters
    ----------
    offered, demand_sum, delivered_sum : (m,) float
        Offered bit/s (the simulator's sum), the numpy sums of the demand and
        delivered rows (``BatchStepResult.lost_bps`` is their difference).
    util, load : (m, n_links) float
        Link utilization and load after the cascade.
    link_up, up_after : (m, n_links) bool
        Links in service before the step's cascade, and after it.
    rung : (m, n_links) int
        The copies' weight rungs.
    lat_ms : (m, 2) float
        p50 and p95 latency, ms (NaN: nothing routable).
    hours : (m,) float
    weights : tuple of 4 float
        The served, drop, util and latency weights of the reward.
    util_max, p95_sla_ms, min_served : float
        ``[sla] util_max``, ``[sla] latency_p95_ms``, the served fraction below
        which an episode ends.

    Returns
    -------
    rewards : (m,) float
    terms : tuple of 4 (m,) float
        served, drop, util, latency.
    served, dropped : (m,) float
        bit/s.
    terminated : (m,) bool
    obs : tuple
        float32 link_util, link_load_bps, link_up, link_weight_rung,
        latency_ms (NaN as 0), hour (m, 1).
    """
    m, nl = util.shape
    w_s, w_d, w_u, w_l = weights
    rewards, t_s, t_d, t_u, t_l = (np.empty(m), np.empty(m), np.empty(m), np.empty(m),
                                   np.empty(m))
    served, dropped = np.empty(m), np.empty(m)
    terminated = np.empty(m, np.bool_)
    util32, load32 = np.empty((m, nl), np.float32), np.empty((m, nl), np.float32)
    up32, rung32 = np.empty((m, nl), np.float32), np.empty((m, nl), np.float32)
    lat32, hour32 = np.empty((m, 2), np.float32), np.empty((m, 1), np.float32)
    for b in range(m):
        lost = demand_sum[b] - delivered_sum[b]
        x = offered[b] - lost
        s = 0.0 if 0.0 >= x else x          # np.maximum(0.0, x): NaN stays NaN
        d = offered[b] - s
        some = offered[b] > 0
        safe = offered[b] if some else 1.0
        served_f = s / safe if some else 1.0
        drop_f = d / safe if some else 0.0
        n_up = 0
        n_over = 0
        for i in range(nl):
            on = link_up[b, i] and up_after[b, i]       # "up" in link_state
            n_up += on
            n_over += on and util[b, i] > util_max
            util32[b, i] = util[b, i]
            load32[b, i] = load[b, i]
            up32[b, i] = 1.0 if on else 0.0
            rung32[b, i] = rung[b, i]
        over = n_over / max(n_up, 1) if n_up > 0 else 0.0   # the count over n, in float64
        p95 = lat_ms[b, 1]
        y = p95 / p95_sla_ms - 1.0
        late = 0.0 if p95 != p95 else (0.0 if 0.0 >= y else y)
        t_s[b] = w_s * served_f
        t_d[b] = -w_d * drop_f
        t_u[b] = -w_u * over
        t_l[b] = -w_l * late
        # sum(terms.values()) of the single env: 0 + served + drop + util + latency
        rewards[b] = 0.0 + t_s[b] + t_d[b] + t_u[b] + t_l[b]
        served[b], dropped[b] = s, d
        terminated[b] = served_f < min_served
        for j in range(2):
            v = lat_ms[b, j]
            lat32[b, j] = 0.0 if v != v else v
        hour32[b, 0] = hours[b] % 24.0
    return (rewards, (t_s, t_d, t_u, t_l), served, dropped, terminated,
            (util32, load32, up32, rung32, lat32, hour32))
