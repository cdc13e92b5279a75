"""``render_mode="rgb_array"``: the network drawn offscreen with PyVista.

Links are drawn along their routes, coloured by utilization (0 green to 1
red and above; grey when out of service), sites as points (black when not
up). One plotter is kept and only its scalars change between frames, so
a frame costs a render, not a scene build.
"""

from __future__ import annotations

import numpy as np

__all__ = ["NetworkRenderer"]


class NetworkRenderer:
    """Draws a :class:`~twin3d.sim.engine.StepResult` of a simulator's twin.

    Parameters
    ----------
    sim : Simulator
    size : (int, int)
        Picture width and height, pixels.
    """

    def __init__(self, sim, size: tuple[int, int] = (480, 360)) -> None:
        import pyvista as pv

        from ..offscreen import load_before_software_gl
        load_before_software_gl()       # before Mesa's LLVM: training with torch may follow
        pv.OFF_SCREEN = True
        twin = sim.twin
        pts, lines, link_of_cell, n = [], [], [], 0
        for i, l in enumerate(sim.link_ids):
            route = np.asarray(twin.links[l].route_xyz_m, dtype=float)
            lines.append(np.r_[len(route), n + np.arange(len(route))])
            pts.append(route)
            link_of_cell.append(i)
            n += len(route)
        self._lines = pv.PolyData(np.vstack(pts), lines=np.concatenate(lines)) if pts else None
        self._link_of_cell = np.array(link_of_cell, dtype=int)
        site_xyz = np.array([twin.sites[s].xyz_m for s in sim.site_ids], dtype=float)
        self._sites = pv.PolyData(site_xyz)
        self._plotter = pv.Plotter(off_screen=True, window_size=list(size))
        self._plotter.set_background("white")
        if self._lines is not None:
            self._lines.cell_data["utilization"] = np.zeros(len(sim.link_ids))
            self._plotter.add_mesh(self._lines, scalars="utilization", cmap="RdYlGn_r", clim=(0, 1),
                                   line_width=4, show_scalar_bar=False, nan_color="lightgrey")
        self._sites.point_data["up"] = np.ones(len(sim.site_ids))
        self._plotter.add_mesh(self._sites, scalars="up", cmap=["black", "royalblue"], clim=(0, 1),
                               point_size=10, render_points_as_spheres=True, show_scalar_bar=False)
        self._plotter.view_xy()
        self._plotter.reset_camera()

    def draw(self, r) -> np.ndarray:
        """The picture of one step: (height, width, 3) uint8."""
        if self._lines is not None:
            util = np.where([s == "up" for s in r.link_state], r.link_util, np.nan)
            self._lines.cell_data["utilization"] = util[self._link_of_cell]
        self._sites.point_data["up"] = np.array([s in ("up", "sleep") for s in r.site_state], float)
        self._plotter.render()
        return np.asarray(self._plotter.screenshot(return_img=True))[..., :3].copy()

    def close(self) -> None:
        self._plotter.close()
