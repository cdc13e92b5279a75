"""Readers for geospatial telecom data, and the scene's local frame.

Every reader returns a :class:`~twin3d.geo.records.SourceData` of validated
WGS84 records plus what it skipped and why, and raises
:class:`~twin3d.errors.InputError` for bad input.
"""

from .frame import LocalFrame, bbox_center
from .records import (BuildingRecord, DemandRecord, LinkRecord, SectorRecord,
                      SiteRecord, Skipped, SourceData, StreetRecord)

__all__ = ["LocalFrame", "bbox_center", "BuildingRecord", "DemandRecord", "LinkRecord",
           "SectorRecord", "SiteRecord", "Skipped", "SourceData", "StreetRecord"]
