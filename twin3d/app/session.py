"""One shared session, said so: who is connected, and the launcher probe answered.

Every browser tab of one ``twin3d view`` server shows the same twin: a
scenario switch, a step or a what-if made in one tab is seen in every tab.
That sharing is explicit: :class:`Viewers` numbers each websocket
connection (viewer 1, 2, ...), keeps ``state.viewers`` (how many are
connected) current as tabs connect and close, and tells which viewer sent
the message being handled (:meth:`Viewers.active`), so a what-if is
labelled with the viewer who made it.

The trame page first POSTs to ``/paraview/`` (the wslink launcher's
address) to ask for a session; a plain server had no such route, so every
page load logged a 405 in the browser console before falling back to
``/ws``. :func:`launcher_route` answers that request with this server's own
websocket, as a single-session launcher would.

Examples
--------
>>> v = Viewers(state={})
>>> v.connect("a"), v.connect("b"), v.count
(1, 2, 2)
>>> v.close("a"); v.count, v.number("b")
(1, 2)
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["Viewers", "install", "launcher_route", "SESSION_PATH"]

#: Where the trame client asks a launcher for a session (``sessionManagerURL``).
SESSION_PATH = "/paraview/"


class Viewers:
    """Connected viewers of the shared session, numbered in order of arrival.

    Parameters
    ----------
    state : mapping
        The trame state (or a dict): ``viewers`` is kept equal to :attr:`count`.
    on_change : callable, optional
        Called with no argument after a viewer connects or leaves (flushes the state).
    """

    def __init__(self, state: Any, on_change: Callable[[], None] | None = None) -> None:
        self.state = state
        self.on_change = on_change
        self.numbers: dict[str, int] = {}      # client id -> viewer number
        self._next = 1
        self._set(0)

    @property
    def count(self) -> int:
        """Viewers connected now."""
        return len(self.numbers)

    def _set(self, n: int) -> None:
        self.state["viewers"] = n
        if self.on_change is not None:
            self.on_change()

    def connect(self, client_id: str) -> int:
        """Number a new connection; returns its viewer number."""
        if client_id not in self.numbers:
            self.numbers[client_id] = self._next
            self._next += 1
        self._set(self.count)
        return self.numbers[client_id]

    def close(self, client_id: str) -> None:
        """Forget a closed connection."""
        self.numbers.pop(client_id, None)
        self._set(self.count)

    def number(self, client_id: str | None) -> int:
        """Viewer number of ``client_id`` (0: unknown, e.g. a call from the server itself)."""
        return self.numbers.get(client_id, 0) if client_id is not None else 0

    def active(self, server) -> int:
        """Number of the viewer whose message the server is handling now (0 if none)."""
        web_app = getattr(server, "_server", None)       # wslink's web app (trame sets it)
        return self.number(getattr(web_app, "last_active_client_id", None))


def launcher_route():
    """aiohttp route answering the client's launcher probe with this server's websocket."""
    from aiohttp import web

    async def session(_request):
        # the client replaces USE_HOST by the page's host and ws by wss on https
        return web.json_response({"sessionURL": "ws://USE_HOST/ws"})

    return web.post(SESSION_PATH, session)


def install(server) -> Viewers:
    """Count viewers on ``server`` and answer ``POST /paraview/``; returns the :class:`Viewers`."""
    from wslink.websocket import LinkProtocol

    viewers = Viewers(server.state, on_change=server.state.flush)

    class _Connections(LinkProtocol):
        def onConnect(self, request, client_id):    # noqa: N802 (wslink's name)
            viewers.connect(client_id)

        def onClose(self, client_id):                # noqa: N802
            viewers.close(client_id)

    server.add_protocol_to_configure(lambda protocol: protocol.registerLinkProtocol(_Connections()))

    @server.controller.add("on_server_bind")
    def _bind(web_app):
        web_app.app.router.add_routes([launcher_route()])

    @server.controller.trigger("viewer_number")
    def _number():
        return viewers.active(server)

    server.context.viewers = viewers
    return viewers
