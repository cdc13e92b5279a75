"""``twin3d view``: serve the browser viewer (:mod:`twin3d.app`) of a scene or stage.

``register(app)`` adds the command to the Typer app; ``serve_demo`` is what
``twin3d demo`` calls after building.
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import Optional

import typer

from .errors import InputError

__all__ = ["register", "serve_demo", "check_port"]


def check_port(host: str, port: int) -> None:
    """Raise :class:`InputError` unless the viewer can listen on ``host:port``.

    Runs before anything is loaded, so a port in use costs no build and
    prints one line, not the server's traceback. The probe socket sets
    ``SO_REUSEADDR`` as the server's does, so a port in ``TIME_WAIT`` is free.

    Examples
    --------
    >>> check_port("127.0.0.1", 0)      # any free port: never in use
    """
    if not 0 <= port <= 65535:
        raise InputError("twin3d view", f"port must be 0..65535, got {port}", field="--port")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise InputError("twin3d view", f"cannot resolve host {host!r}: {exc.strerror}",
                         field="--host") from None
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                problem = (f"{host}:{port} is already in use (another viewer?); "
                           "choose another --port, or --port 0 for any free one")
            else:
                problem = f"cannot listen on {host}:{port}: {exc.strerror}"
            raise InputError("twin3d view", problem, field="--port") from None


def _serve(source: Optional[Path], host: str, port: int) -> None:
    if source is not None and not source.exists():
        raise InputError(source, "scene or stage not found")
    check_port(host, port)
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
