"""The events of each copy of :class:`~twin3d.envs.vector.BatchedTrafficEngineering`.

Per copy and step, as :class:`~twin3d.envs.traffic.TrafficEngineeringEnv`
orders them: the opponent's attacks, the events they scheduled (restores),
then the operator's restores of links tripped ``auto_restore_steps`` ago,
applied to the batch's state arrays (cut, tripped, site down).
"""

from __future__ import annotations

import numpy as np

from ..scene import EventSpec
from .opponent import LazyView, OpponentView

__all__ = ["CopyEvents", "NEVER"]

#: The step of no pending event.
NEVER = 2**62


class CopyEvents:
    """The event methods of the batched env (a mixin: it holds the state arrays,
    ``copies``, ``_opponents``, ``_plain``, ``_pending`` and ``_pending_t``)."""

    def _view(self, b: int) -> OpponentView:
        c = self.copies[b]
        return OpponentView(c.link_ids, c.site_ids, self._last_link_ok[b], self._last_util[b],
                            ~self._site_down[b], self._busy_bps, c.site_ids)

    def _play_events(self, rows: list[int], started: np.ndarray) -> None:
        """Opponent then operator events of the started copies in ``rows``, applied as the
        single env orders them: per copy the opponent's, those pending, then the restores
        of the links tripped ``auto_restore_steps`` ago (last: all at once, in arrays)."""
        on = started.tolist()
        if not any(on):
            return
        ts = self._t.tolist()
        opponents, plain, pending_t, copies = self._opponents, self._plain, self._pending_t, self.copies
        for b in rows:
            if not on[b]:
                continue
            t, opp, evs = ts[b], opponents[b], None
            if opp is not None:
                if plain[b]:
                    # Opponent.__call__ in its two halves: most steps end after the first,
                    # and the view is made only if an attack's budget holds
                    rng = copies[b]._opp_rng
                    if opp.tries(t, rng):
                        evs = opp.attack(t, LazyView(self._view, b), rng)
                else:
                    evs = opp(t, self._view(b), copies[b]._opp_rng)
            if evs or pending_t[b] <= t:
                now = self._events_of(b, t, evs)
                if now:
                    self._apply(b, now)
        n = self.proto.auto_restore_steps
        if n is not None and self._tripped.any():
            # the operator's restores, each an EventSpec(t, "restore", link) of the single env
            due = self._tripped & (self._t[:, None] - self._trip_at >= n) & started[:, None]
            self._cut &= ~due
            self._tripped &= ~due
            if self._link_is_site[0].size:      # a link id that names a site restores it too
                hit = due[:, self._link_is_site[0]]
                for b, j in zip(*np.nonzero(hit)):
                    self._site_down[b, self._link_is_site[1][j]] = False

    def _events_of(self, b: int, t: int, evs: list | None) -> list[EventSpec]:
        """Copy b's events at step t: the opponent's ``evs`` now, then those pending; later
        ones of ``evs`` wait (``_pending_t``: the step of the next one)."""
        pending = self._pending[b]
        now = []
        if evs:
            pending = pending + [e for e in evs if e.t > t]
            now = [e for e in evs if e.t == t]
        if pending:
            now += [e for e in pending if e.t == t]
            pending = [e for e in pending if e.t > t]
        self._pending[b] = pending
        self._pending_t[b] = min((e.t for e in pending), default=NEVER)
        return now

    def _apply(self, b: int, events: list[EventSpec]) -> None:
        link = self.sim.link_index
        site = self.sim.site_index
        for e in events:
            if e.kind == "fiber_cut":
                self._cut[b, link[e.target]] = True
            elif e.kind in ("site_outage", "power_outage"):
                self._site_down[b, site[e.target]] = True
            elif e.kind == "restore":
                if e.target in link:
                    self._cut[b, link[e.target]] = False
                    self._tripped[b, link[e.target]] = False
                if e.target in site:
                    self._site_down[b, site[e.target]] = False
            else:
                raise ValueError(f"the batched engine cannot play a {e.kind} event")
