"""Building heights from tags: ``height``, else ``building:levels`` x 3 m,
else a default per building type.

The defaults are typical heights for central-European city blocks; they are
documented here so a user can see where a height came from (each building
records ``height_source``: ``"height"``, ``"levels"`` or ``"default"``).
"""

from __future__ import annotations

import re

__all__ = ["LEVEL_HEIGHT_M", "DEFAULT_HEIGHT_M", "FALLBACK_HEIGHT_M",
           "parse_height_m", "building_height_m"]

#: Storey height used with ``building:levels``, metres.
LEVEL_HEIGHT_M = 3.0
#: Height when a building has no height and no levels, by ``building=*``.
DEFAULT_HEIGHT_M: dict[str, float] = {
    "apartments": 18.0, "residential": 15.0, "house": 7.0, "detached": 7.0,
    "office": 21.0, "commercial": 15.0, "retail": 9.0, "hotel": 21.0,
    "public": 15.0, "civic": 15.0, "government": 15.0, "university": 15.0,
    "school": 12.0, "hospital": 18.0, "train_station": 12.0, "transportation": 9.0,
    "church": 20.0, "cathedral": 40.0, "chapel": 8.0, "museum": 15.0,
    "industrial": 10.0, "warehouse": 9.0, "garage": 3.0, "garages": 3.0,
    "shed": 3.0, "kiosk": 3.0, "pavilion": 4.0, "roof": 4.0, "hut": 3.0,
    "service": 4.0, "utility": 4.0, "tower": 30.0, "glasshouse": 4.0,
    "atrium": 12.0, "entrance": 3.0, "underpass_entrance": 3.0, "ship": 10.0,
    "block": 18.0,
}
#: Height for ``building=yes`` and any type not listed above, metres.
FALLBACK_HEIGHT_M = 15.0

_NUMBER = re.compile(r"^\s*([0-9]+(?:[.,][0-9]+)?)\s*(m|meters?|metres?|ft|feet|')?\s*$", re.I)


def parse_height_m(value: str | float | int | None) -> float | None:
    """Parse an OSM-style height ("12", "12.5 m", "40 ft"); None if unusable.

    Examples
    --------
    >>> parse_height_m("12,5 m"), parse_height_m("40 ft"), parse_height_m("tall")
    (12.5, 12.192, None)
    """
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        v = float(value)
        return v if v > 0 and v == v and v != float("inf") else None
    m = _NUMBER.match(str(value))
    if not m:
        return None
    v = float(m.group(1).replace(",", "."))
    if m.group(2) and m.group(2).lower() in ("ft", "feet", "'"):
        v *= 0.3048
    return round(v, 6) if v > 0 else None


def building_height_m(height=None, levels=None, kind: str | None = "yes") -> tuple[float, str]:
    """Height of a building and where it came from.

    Returns
    -------
    (height_m, source) with source ``"height"``, ``"levels"`` or ``"default"``.

    Examples
    --------
    >>> building_height_m(levels="5")
    (15.0, 'levels')
    >>> building_height_m(kind="church")
    (20.0, 'default')
    """
    h = parse_height_m(height)
    if h is not None:
        return h, "height"
    lv = parse_height_m(levels)
    if lv is not None:
        return lv * LEVEL_HEIGHT_M, "levels"
    return DEFAULT_HEIGHT_M.get(kind or "yes", FALLBACK_HEIGHT_M), "default"
