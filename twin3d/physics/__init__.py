"""Pure physics models: numpy in, numpy out, no file I/O (DESIGN.md section 5).

Radio: the geometry-aware "geometric" model (:mod:`.geometric`, the
default of the radio map) and path loss (free space, TR 38.901
UMa/UMi/RMa), the 3GPP sector antenna, O2I penetration, noise, spectral
efficiency, building line of sight and the radio map of a twin (per-cell
maps cached, recombined per active set). Transport: ECMP and shortest-path routing over
arrays, M/M/1 queueing, fibre delay and optical budget, EARTH site power.
"""

from .cellmaps import (RADIO_MODELS, CellMapCache, CellSpec, GridContext, Recombined, cell_rx_dbm, combine,
                       site_los)
from .coverage import Grid, RadioMap, RadioMapper, radio_map
from .los import (BuildingRaster, ground_z_m, indoor_distance_m, rasterize_buildings,
                  viewshed_los)
from .energy import EARTH_MACRO, site_power_w
from .fiber import (C_M_PER_S, FIBER_GROUP_INDEX, optical_budget_db, optical_margin_db,
                    propagation_delay_s)
from .queueing import MEAN_PACKET_BITS, MM1, link_delay_s, mm1
from .radio import (antenna_gain_db, fspl_db, n_prb, o2i_low_loss_db, pathloss_38901,
                    pathloss_db, spectral_efficiency, thermal_noise_dbm)
from .routing import Routing
from .transport import Router, ecmp_loads, spf_loads

__all__ = [
    "Grid", "RADIO_MODELS", "RadioMap", "RadioMapper", "radio_map",
    "CellMapCache", "CellSpec", "GridContext", "Recombined", "cell_rx_dbm", "combine", "site_los",
    "BuildingRaster", "ground_z_m", "indoor_distance_m", "rasterize_buildings", "viewshed_los",
    "antenna_gain_db", "fspl_db", "n_prb", "o2i_low_loss_db", "pathloss_38901", "pathloss_db",
    "spectral_efficiency", "thermal_noise_dbm",
    "Router", "Routing", "ecmp_loads", "spf_loads", "mm1", "MM1", "link_delay_s", "MEAN_PACKET_BITS",
    "propagation_delay_s", "optical_budget_db", "optical_margin_db", "C_M_PER_S", "FIBER_GROUP_INDEX",
    "site_power_w", "EARTH_MACRO",
]
