"""The opponent: budgeted, seeded attacks on the network, as in grid2op.

Each step the opponent may start one attack on an element in service: a
``fiber_cut`` (with the ``restore`` that ends it), a ``site_outage`` or
``power_outage`` (ditto), a ``surge`` or a ``ddos``, every one an event of
the scene vocabulary, so an episode replays like any scenario. An attack
costs one unit of budget per step it lasts; the budget starts at
``budget`` and grows by ``budget_per_step``; after an attack ends the
opponent waits ``cooldown_steps``. Links are chosen with probability
growing with their utilization (busy links hurt most), sites uniformly.

Any callable ``f(t, view, rng) -> list[EventSpec]`` can stand in for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ..ids import parse_id
from ..scene import EventSpec

__all__ = ["Opponent", "OpponentView", "LazyView", "ATTACK_KINDS", "make_opponent"]

#: What the opponent can do, and the element kind each attack targets.
ATTACK_KINDS = {"fiber_cut": "link", "site_outage": "site", "power_outage": "site",
                "surge": "site", "ddos": "site"}


@dataclass
class OpponentView:
    """What the opponent sees at a step: element ids, states and loads."""

    link_ids: list[str]
    site_ids: list[str]
    link_up: np.ndarray          # (n_links,) bool, in service now
    link_util: np.ndarray        # (n_links,) utilization at the last step
    site_up: np.ndarray          # (n_sites,) bool
    busy_hour_bps: float         # the scene's total demand at the busy hour, bit/s
    surge_sites: list[str] = field(default_factory=list)    # sites a surge can target


class LazyView:
    """An :class:`OpponentView` made by ``make(*args)`` on the first attribute read:
    the built-in :class:`Opponent` reads its view only when it attacks (a few % of
    steps). Read it before the step it was handed out in ends (it sees that step's state)."""

    __slots__ = ("_make", "_args", "_made")

    def __init__(self, make: Callable[..., OpponentView], *args) -> None:
        self._make, self._args, self._made = make, args, None

    def __getattr__(self, name):
        if self._made is None:
            self._made = self._make(*self._args)
        return getattr(self._made, name)


@dataclass
class Opponent:
    """A budgeted random attacker.

    Parameters
    ----------
    kinds : sequence of str
        Attack kinds, from :data:`ATTACK_KINDS`.
    targets : sequence of str, optional
        Typed ids (``link:L7``, ``site:S1``) it may attack; default every
        link and site that fits a kind.
    attack_prob : float
        Chance per step of starting an attack when allowed.
    budget, budget_per_step : float
        Budget at the start and added per step; an attack costs its duration.
    duration_steps : (int, int)
        Inclusive range of attack durations, steps.
    cooldown_steps : int
        Steps after an attack ends before the next may start.
    surge_factor : (float, float)
        Range of a surge's demand multiplier.
    ddos_share : (float, float)
        Range of a DDoS's attack traffic, as a share of the busy-hour demand.

    Examples
    --------
    >>> opp = Opponent(kinds=("fiber_cut",), attack_prob=1.0, budget=2.0, duration_steps=(2, 2))
    >>> view = OpponentView(["L1", "L2"], ["A"], np.array([True, True]), np.array([0.1, 0.9]),
    ...                     np.array([True]), 1e9)
    >>> ev = opp(0, view, np.random.default_rng(0))
    >>> [(e.t, e.kind, e.target) for e in ev]
    [(0, 'fiber_cut', 'L2'), (2, 'restore', 'L2')]
    """

    kinds: Sequence[str] = ("fiber_cut",)
    targets: Sequence[str] | None = None
    attack_prob: float = 0.05
    budget: float = 0.0
    budget_per_step: float = 0.25
    duration_steps: tuple[int, int] = (4, 12)
    cooldown_steps: int = 8
    surge_factor: tuple[float, float] = (2.0, 4.0)
    ddos_share: tuple[float, float] = (0.2, 0.6)

    def __post_init__(self) -> None:
        bad = [k for k in self.kinds if k not in ATTACK_KINDS]
        if bad or not self.kinds:
            raise ValueError(f"opponent kinds must be among {', '.join(ATTACK_KINDS)}, got {bad or '[]'}")
        lo, hi = self.duration_steps
        if not 1 <= lo <= hi:
            raise ValueError(f"duration_steps must be 1 <= low <= high, got {self.duration_steps}")
        self._allowed = None if self.targets is None else {parse_id(t) for t in self.targets}
        self.reset()

    def reset(self) -> None:
        """Start an episode: full budget, no attack running."""
        self._budget = float(self.budget)
        self._busy_until = -1

    def _candidates(self, kind: str, view: OpponentView) -> tuple[list[str], np.ndarray]:
        if ATTACK_KINDS[kind] == "link":
            # (the links in service by index: the same ids and weights as a loop over them)
            keep = np.flatnonzero(np.asarray(view.link_up, dtype=bool))
            link_ids = view.link_ids            # once: a LazyView's reads go through __getattr__
            ids = [link_ids[i] for i in keep.tolist()]
            w = 0.1 + np.asarray(view.link_util)[keep]
        else:
            pool = set(view.surge_sites if kind == "surge" else view.site_ids)
            up = np.asarray(view.site_up, dtype=bool).tolist()
            ids = [s for s, on in zip(view.site_ids, up) if on and s in pool]
            w = np.ones(len(ids))
        if self._allowed is not None:
            keep = [i for i, x in enumerate(ids) if (ATTACK_KINDS[kind], x) in self._allowed]
            ids, w = [ids[i] for i in keep], w[keep]
        return ids, w

    def __call__(self, t: int, view: OpponentView, rng: np.random.Generator) -> list[EventSpec]:
        """The events the opponent starts at step ``t`` (and the restores that end them)."""
        return self.attack(t, view, rng) if self.tries(t, rng) else []

    def tries(self, t: int, rng: np.random.Generator) -> bool:
        """The first half of :meth:`__call__`, which needs no view: add the step's
        budget, then, unless an attack or its cooldown runs, draw whether to try
        one (``rng.random() < attack_prob``)."""
        self._budget += self.budget_per_step
        return t > self._busy_until and rng.random() < self.attack_prob

    def attack(self, t: int, view: OpponentView, rng: np.random.Generator) -> list[EventSpec]:
        """The second half of :meth:`__call__`, after :meth:`tries` said yes: the
        attack's draws, or [] when the budget or the targets fall short."""
        lo, hi = self.duration_steps
        duration = int(rng.integers(lo, hi + 1))
        if duration > self._budget:
            return []
        kind = self.kinds[int(rng.integers(len(self.kinds)))]
        ids, w = self._candidates(kind, view)
        if not ids:
            return []
        target = ids[int(rng.choice(len(ids), p=w / w.sum()))]
        self._budget -= duration
        self._busy_until = t + duration - 1 + self.cooldown_steps
        if kind == "surge":
            f = float(rng.uniform(*self.surge_factor))
            return [EventSpec(t, "surge", target=target, factor=f, duration=duration)]
        if kind == "ddos":
            bps = float(rng.uniform(*self.ddos_share)) * view.busy_hour_bps
            return [EventSpec(t, "ddos", target=target, bps=bps, duration=duration)]
        return [EventSpec(t, kind, target), EventSpec(t + duration, "restore", target)]


def make_opponent(opponent, default_kinds: Sequence[str]) -> Callable | None:
    """An environment's ``opponent=`` argument as a callable (or None: switched off).

    ``"default"`` gives an :class:`Opponent` over ``default_kinds``; None or
    False switches it off; a dict gives ``Opponent(**dict)``; an
    :class:`Opponent` or any callable ``f(t, view, rng) -> list[EventSpec]``
    is used as is.
    """
    if opponent is None or opponent is False:
        return None
    if isinstance(opponent, str):
        if opponent != "default":
            raise ValueError(f"opponent must be 'default', None, a dict or a callable, got {opponent!r}")
        return Opponent(kinds=tuple(default_kinds))
    if isinstance(opponent, dict):
        return Opponent(**opponent)
    if not callable(opponent):
        raise ValueError(f"opponent must be 'default', None, a dict or a callable, got {opponent!r}")
    return opponent
