"""Create and serve the viewer: ``serve(scene_or_stage, host, port)``.

Binds 127.0.0.1 unless told otherwise. The page never sends a path: the
scene or stage is chosen on the command line, and everything the page asks
for is looked up among what the server listed.

Examples
--------
>>> serve("scenes/helsinki.toml", port=8080)      # doctest: +SKIP
"""

from __future__ import annotations

import gc
import os
import sys
import time
from pathlib import Path

__all__ = ["create_app", "serve", "choose_render_window", "DEFAULT_HOST", "DEFAULT_PORT"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def choose_render_window() -> None:
    """Render off screen through EGL when there is no X display.

    VTK's default window on Linux is X; without a ``DISPLAY`` it logs
    ``bad X server connection`` and only then falls back to EGL. Asking for
    the EGL window first (``VTK_DEFAULT_OPENGL_WINDOW``) draws the same
    pictures without the warning. A value the user set is kept.
    """
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")


def create_app(source: str | Path | None = None, server_name: str | None = None):
    """Load ``source`` and lay out the page; returns (server, engine).

    Parameters
    ----------
    source : str or Path, optional
        Scene TOML, stage file or twin3d output folder (default: Helsinki).
    server_name : str, optional
        trame server name (distinct names give independent servers).
    """
    choose_render_window()
    import pyvista as pv
    pv.OFF_SCREEN = True
    from trame.app import get_server

    from . import session
    from .engine import ViewerEngine
    from .state import bind
    from .sync_cache import install
    from .ui import build_ui

    install()       # a time step re-sends colours, not every actor's topology

    engine = ViewerEngine(source)
    server = get_server(server_name or f"twin3d-{id(engine)}", client_type="vue3")
    session.install(server)     # viewers counted, the launcher probe answered
    view = build_ui(server, engine)
    bind(server, engine, view)
    server.context.engine = engine
    # Everything loaded so far lives as long as the server: move it out of the
    # collector's sight, so a full collection (80-100 ms over the loaded
    # scene's objects) cannot land inside a time step.
    gc.collect()
    gc.freeze()
    return server, engine


def serve(source: str | Path | None = None, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve the viewer of ``source`` at http://host:port/ until interrupted.

    Prints ``twin3d viewer: http://host:port/ (loaded in X s)`` once the
    server listens, so scripts can wait for it.
    """
    t0 = time.perf_counter()
    server, engine = create_app(source)

    def ready(**_):
        # the port listened on (the one asked for, or the one given for --port 0)
        print(f"twin3d viewer: http://{host}:{server.port or port}/ (loaded in {engine.load_s:.2f} s, "
              f"ready in {time.perf_counter() - t0:.2f} s, {len(engine.actors)} actors)", flush=True)

    server.controller.on_server_ready.add(ready)
    argv = sys.argv
    sys.argv = argv[:1]       # trame parses sys.argv itself: give it nothing of ours
    try:
        server.start(host=host, port=int(port), open_browser=False, show_connection_info=False,
                     timeout=0)
    finally:
        sys.argv = argv
        engine.close()
