"""Pure physics models: numpy in, numpy out, no file I/O (DESIGN.md section 5).

Radio: path loss (free space, TR 38.901 UMa/UMi/RMa), the 3GPP sector
antenna, O2I penetration, noise, spectral efficiency, building line of sight
and the radio map of a twin.
"""

from .coverage import Grid, RadioMap, radio_map
from .los import (BuildingRaster, ground_z_m, indoor_distance_m, rasterize_buildings,
                  viewshed_los)
from .radio import (antenna_gain_db, fspl_db, n_prb, o2i_low_loss_db, pathloss_38901,
                    pathloss_db, spectral_efficiency, thermal_noise_dbm)

__all__ = [
    "Grid", "RadioMap", "radio_map",
    "BuildingRaster", "ground_z_m", "indoor_distance_m", "rasterize_buildings", "viewshed_los",
    "antenna_gain_db", "fspl_db", "n_prb", "o2i_low_loss_db", "pathloss_38901", "pathloss_db",
    "spectral_efficiency", "thermal_noise_dbm",
]
