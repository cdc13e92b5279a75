"""Drawing sizes that follow the size of the scene.

A city scene is a few kilometres across, a backbone scene thousands: a 2 m
fibre or a 0.6 m mast would be invisible in the latter. Sizes are the
larger of a real-world value and a fraction of the scene extent, so a city
scene keeps true sizes and a continental one stays readable.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SceneScale"]


@dataclass(frozen=True)
class SceneScale:
    """Drawing sizes for a scene whose largest horizontal extent is ``extent_m``.

    Examples
    --------
    >>> s = SceneScale(3_000.0)
    >>> s.link_width_m, s.tower_radius_m, s.street_lift_m, s.link_lift_m
    (4.0, 1.5, 1.0, 5.0)
    >>> SceneScale(2_000_000.0).link_width_m
    1000.0
    """

    extent_m: float

    @property
    def factor(self) -> float:
        """How much larger than true size parts are drawn (>= 1)."""
        return max(1.0, self.extent_m / 2_000.0)

    @property
    def link_width_m(self) -> float:
        """Width (tube diameter) of a link curve, metres: 4 m in a city, so a
        fibre stays a few pixels wide in the overview of a 2 km scene."""
        return max(4.0, self.extent_m / 2_000.0)

    @property
    def street_lift_m(self) -> float:
        """Height of the street ribbons above the ground, metres.

        Above the signal maps (:data:`twin3d.usd.signal.LIFT_M`, 0.5 m) so a
        flat street still shows over the map it crosses, and far enough from
        them (0.5 m) not to flicker in a depth buffer at overview distance.
        """
        return max(1.0, self.extent_m / 20_000.0)

    @property
    def link_lift_m(self) -> float:
        """Height of a link curve (the tube's axis) above its route, metres.

        The tube's underside clears the street ribbons by half a width: the
        fibre that follows a street is drawn over it, not inside it.
        """
        return self.street_lift_m + self.link_width_m

    @property
    def tower_radius_m(self) -> float:
        """Mast radius, metres."""
        return max(0.6, self.extent_m / 2_000.0)

    @property
    def panel_size_m(self) -> tuple[float, float, float]:
        """Sector panel depth, width and height, metres."""
        f = self.factor
        return (0.3 * f, 1.2 * f, 2.0 * f)

    @property
    def node_size_m(self) -> float:
        """Edge of the cube drawn for a central office, PoP or router, metres."""
        return max(8.0, self.extent_m / 400.0)

    @property
    def terrain_margin_m(self) -> float:
        """Terrain reaches this far beyond everything in the twin, metres."""
        return max(50.0, 0.05 * self.extent_m)
