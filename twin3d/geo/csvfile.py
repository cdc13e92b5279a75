"""Read sites, links, buildings, streets and demands from CSV tables.

One row per record, a header row naming the columns. Sites take their
position from ``lon``/``lat`` (or ``longitude``/``latitude``) in WGS84
degrees; ``x``/``y`` are refused because a CSV cannot say their CRS. Links
may carry a ``wkt`` LINESTRING route, buildings and streets need a ``wkt``
geometry. Messages name rows as a spreadsheet does: the header is row 1, the
first record row 2. Properties mean what they mean in every other format
(see :mod:`twin3d.geo.roles`); the ``sectors`` column holds JSON text.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterator

import shapely
from shapely.errors import ShapelyError
from shapely.geometry import Point

from ..errors import InputError
from .fields import feature_label
from .records import SourceData
from .roles import ROLES, Feature, records_from_features

__all__ = ["read_csv", "CSV_ROLES"]

CSV_ROLES = ROLES
_LON = ("lon", "longitude")
_LAT = ("lat", "latitude")
#: Columns without which no row of the role can be valid.
_REQUIRED = {"sites": ("id",), "links": ("id", "a", "b", "capacity_bps"),
             "buildings": ("wkt",), "streets": ("wkt",), "demands": ("src", "dst", "demand_bps")}


def read_csv(path: str | Path, role: str) -> SourceData:
    """Read one CSV table as records of one role, in WGS84.

    Parameters
    ----------
    path : str or Path
        A comma- (or semicolon-) separated UTF-8 file with a header row.
    role : str
        ``"sites"``, ``"links"``, ``"buildings"``, ``"streets"`` or
        ``"demands"``.

    Returns
    -------
    SourceData
        Records in the role's list, each with ``where = (file, "row N ...")``.

    Raises
    ------
    InputError
        Missing file, missing column, a bad value or coordinate, a duplicate
        id; the message names the file, row and column.

    Examples
    --------
    >>> data = read_csv("tests/data/vector/links.csv", "links")  # doctest: +SKIP
    >>> data.links[0].capacity_bps                               # doctest: +SKIP
    100000000000.0
    """
    path = Path(path)
    file = str(path)
    if role not in CSV_ROLES:
        raise InputError(file, f"unknown role {role!r}; expected one of {', '.join(CSV_ROLES)}",
                         field="role")
    if not path.is_file():
        raise InputError(file, "file not found" if not path.exists() else "is not a file")
    return records_from_features(_rows(path, file, role), role, file, path.stem, noun="row")


def _rows(path: Path, file: str, role: str) -> Iterator[Feature]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            lines = fh.read()
    except UnicodeDecodeError as e:
        raise InputError(file, f"is not UTF-8 text (byte {e.start}: {e.reason})") from None
    except OSError as e:
        raise InputError(file, f"cannot be read: {e.strerror or e}") from None
    first = lines.split("\n", 1)[0]
    # Spreadsheets in comma-decimal locales write ';' between columns.
    delimiter = ";" if ";" in first and "," not in first else ","
    reader = csv.reader(lines.splitlines(keepends=True), delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InputError(file, "is empty; expected a header row") from None
    except csv.Error as e:
        raise InputError(file, f"malformed CSV: {e}", "row 1") from None
    lon_col, lat_col = _check_header(header, role, file)
    geo_cols = {lon_col, lat_col} if role == "sites" else {"wkt"}
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise InputError(file, f"malformed CSV: {e}", f"row {reader.line_num}") from None
        if not any(c.strip() for c in cells):
            continue  # blank line
        row = reader.line_num - 1        # 0-based, so feature_label says "row N" for line N
        if len(cells) > len(header):
            raise InputError(file, f"has {len(cells)} cells but the header has {len(header)}",
                             feature_label(row, noun="row"))
        values = {h: c.strip() for h, c in zip(header, cells) if c.strip()}
        props = {k: v for k, v in values.items() if k not in geo_cols}
        label = feature_label(row, props.get("id"), noun="row")
        geom = None
        if lon_col is not None:
            geom = Point(_coordinate(values.get(lon_col), file, label, lon_col),
                         _coordinate(values.get(lat_col), file, label, lat_col))
        elif values.get("wkt"):
            geom = _wkt(values["wkt"], file, label)
        yield Feature(row, props, geom)


def _check_header(header: list[str], role: str, file: str) -> tuple[str | None, str | None]:
    """Column names for lon and lat (sites) after checking required columns."""
    seen: set[str] = set()
    for h in header:
        if h in seen:
            raise InputError(file, f"column {h!r} appears twice", "row 1 (header)", h)
        seen.add(h)
    for col in _REQUIRED[role]:
        if col not in header:
            raise InputError(file, f"missing column; the header has {', '.join(header)}",
                             "row 1 (header)", col)
    if role != "sites":
        return None, None
    lower = {h.lower(): h for h in header}
    lon = next((lower[n] for n in _LON if n in lower), None)
    lat = next((lower[n] for n in _LAT if n in lower), None)
    if lon is None or lat is None:
        hint = "; x/y are not accepted because a CSV cannot say their CRS" \
            if {"x", "y"} <= set(lower) else ""
        raise InputError(file, f"sites need columns lon and lat (or longitude and latitude) in "
                         f"WGS84 degrees{hint}", "row 1 (header)", "lon" if lon is None else "lat")
    return lon, lat


def _coordinate(value: str | None, file: str, label: str, column: str) -> float:
    """A float from a lon/lat cell; NaN and range are left to check_lonlat,
    which every reader's coordinates go through."""
    if value is None:
        raise InputError(file, "is missing", label, column)
    try:
        v = float(value)
    except ValueError:
        raise InputError(file, f"must be a number, got {value!r}", label, column) from None
    return v


def _wkt(value: str, file: str, label: str):
    try:
        return shapely.from_wkt(value)
    except (ShapelyError, ValueError) as e:
        raise InputError(file, f"is not valid WKT ({e})", label, "wkt") from None
