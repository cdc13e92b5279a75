"""Radio site power per step: the EARTH model by site kind (DESIGN.md section 5).

A site's kind picks its EARTH class (:data:`ENERGY_CLASS`): ``macro`` and
``mast`` sites use the macro parameters, ``small`` sites the micro ones,
``pico`` sites the pico ones; any other kind that has cells is counted as
macro. Every sector (cell) is :data:`~twin3d.physics.energy.TRX_PER_SECTOR`
= 2 TRX (EARTH's antennas per sector), each loaded by its cell's resource
utilization, so a 3-sector macro site is EARTH's 6-TRX site (1344 W at full
load, 780 W idle, 450 W asleep) and a 1-sector small cell EARTH's 2-TRX
micro site (144.76 / 112 / 78 W). P_out is the class's P_max times the load,
not the sector's configured power: EARTH's P0 and delta_p belong to its
P_max. A site without cells has no radio energy model: its power is NaN,
and a step's ``energy_w`` sums the sites that have a model (NaN when none
has). A site that is down or off draws 0 W; one that sleeps, N_trx P_sleep.
"""

from __future__ import annotations

import numpy as np

from ..physics.energy import EARTH, TRX_PER_SECTOR, site_power_w

__all__ = ["ENERGY_CLASS", "CellPower", "total_energy_w"]

#: Site kind -> EARTH class; other kinds with cells count as macro.
ENERGY_CLASS = {"macro": "macro", "mast": "macro", "small": "micro", "micro": "micro",
                "pico": "pico"}


class CellPower:
    """EARTH parameters per cell, and site power from per-cell loads.

    Parameters
    ----------
    site_kinds : list of str
        Kind of every site, in the simulator's site order.
    cell_site : (n_cells,) int
        Index of each cell's site.

    Examples
    --------
    >>> cp = CellPower(["macro", "central_office", "small"], np.array([0, 0, 0, 2]))
    >>> [round(float(p), 2) for p in cp.site_power_w(np.array([1.0, 1.0, 1.0, 0.0]),
    ...                                             ["up", "up", "up"])]
    [1344.0, nan, 112.0]
    >>> [float(p) for p in cp.site_power_w(np.zeros(4), ["sleep", "up", "off"])]
    [450.0, nan, 0.0]
    """

    def __init__(self, site_kinds: list[str], cell_site: np.ndarray) -> None:
        self.n_sites = len(site_kinds)
        self.cell_site = np.asarray(cell_site, dtype=int)
        klass = [EARTH[ENERGY_CLASS.get(site_kinds[s].lower(), "macro")] for s in self.cell_site]
        self.params = {k: np.array([c[k] for c in klass], dtype=float)
                       for k in ("p_max_w", "p0_w", "delta_p", "p_sleep_w")}
        #: Sites that have cells, hence a radio energy model.
        self.has_model = np.bincount(self.cell_site, minlength=self.n_sites) > 0
        site_power_w(np.zeros(len(self.cell_site)), n_trx=TRX_PER_SECTOR, **self.params)  # checks them
        # EARTH's arithmetic with the parameters checked once (per step: no checks)
        self._asleep_w = float(TRX_PER_SECTOR) * self.params["p_sleep_w"]

    def site_power_w(self, cell_load: np.ndarray, site_state: list[str],
                     cell_sleeping: np.ndarray | None = None) -> np.ndarray:
        """(n_sites,) input power, W; NaN for sites without cells.

        Parameters
        ----------
        cell_load : (n_cells,) float
            Resource utilization of each cell (clipped to [0, 1]).
        site_state : list of str
            up, sleep, down or off per site.
        cell_sleeping : (n_cells,) bool, optional
            Cells asleep on their own (``cell_sleep``): N_trx P_sleep each.
        """
        state = np.asarray(site_state, dtype=object)[self.cell_site]
        sleeping = state == "sleep"
        if cell_sleeping is not None:
            sleeping = sleeping | np.asarray(cell_sleeping, dtype=bool)
        load = np.clip(np.nan_to_num(np.asarray(cell_load, dtype=float)), 0.0, 1.0)
        k = self.params       # twin3d.physics.energy.site_power_w, the same operations
        awake = float(TRX_PER_SECTOR) * (k["p0_w"] + k["delta_p"] * load * k["p_max_w"])
        p = np.where(sleeping, self._asleep_w, awake)
        p = np.where((state == "down") | (state == "off"), 0.0, p)
        power = np.bincount(self.cell_site, weights=p, minlength=self.n_sites)
        return np.where(self.has_model, power, np.nan)


def total_energy_w(site_power_w: np.ndarray) -> float:
    """Sum over the sites that have a model, W; NaN when none has one.

    Examples
    --------
    >>> total_energy_w(np.array([np.nan, 780.0, 450.0])), total_energy_w(np.array([np.nan]))
    (1230.0, nan)
    """
    p = np.asarray(site_power_w, dtype=float)
    return float(np.nansum(p)) if np.isfinite(p).any() else float("nan")
