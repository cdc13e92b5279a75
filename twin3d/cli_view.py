"""``twin3d view``: serve the browser viewer (:mod:`twin3d.app`) of a scene or stage.

``register(app)`` adds the command to the Typer app; ``serve_demo`` is what
``twin3d demo`` calls after building.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .errors import InputError

__all__ = ["register", "serve_demo"]


def _serve(source: Optional[Path], host: str, port: int) -> None:
    if source is not None and not source.exists():
        raise InputError(source, "scene or stage not found")
    if not 0 <= port <= 65535:
        raise InputError("twin3d view", f"port must be 0..65535, got {port}", field="--port")
    from .app.main import serve
    serve(source, host=host, port=port)


def serve_demo(root_stage_or_scene: str | Path | None, host: str = "127.0.0.1",
               port: int = 8080) -> None:
    """Serve the viewer of a built stage (or a scene) until interrupted.

    Parameters
    ----------
    root_stage_or_scene : str or Path, optional
        ``OUT/twin.usda``, an output folder or a scene TOML; None: the
        bundled Helsinki scene.
    host, port : str, int
        Where to listen (127.0.0.1 unless told otherwise).
    """
    _serve(None if root_stage_or_scene is None else Path(root_stage_or_scene), host, port)


def register(app: typer.Typer) -> None:
    """Add ``view`` to the ``twin3d`` command."""

    @app.command()
    def view(source: Optional[Path] = typer.Argument(
                 None, help="Scene TOML, stage (.usda/.usdc/.usdz) or output folder "
                            "(default: the bundled Helsinki scene)."),
             host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
             port: int = typer.Option(8080, "--port", help="Port to listen on (0: any free port).")) -> None:
        """Serve the browser viewer: 3D twin, scenarios on a timeline, what-if."""
        _serve(source, host, port)
