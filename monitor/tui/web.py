"""The dashboard in a browser: textual-serve runs one dashboard process per browser tab.

Bound to anything but loopback it requires a token: the first page load carries it as
`?token=…`, which sets an HTTP-only cookie that the page's websocket then sends.
"""

from __future__ import annotations

import hmac
import socket
from collections.abc import Awaitable, Callable

from aiohttp import web
from textual_serve.server import Server

COOKIE = "oss_monitor_web"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class WebDashboard(Server):
    """textual-serve's server with a token guard, served on a socket we bound ourselves."""

    def __init__(self, command: str, sock: socket.socket, public_url: str, token: str | None):
        host, port = sock.getsockname()[:2]
        super().__init__(command, host=host, port=port, title="oss-monitor", public_url=public_url)
        self.sock = sock
        self.token = token

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        if self.token:
            app.middlewares.append(self._guard)
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        offered = request.query.get("token") or request.cookies.get(COOKIE, "")
        if not self.token or not hmac.compare_digest(offered.encode(), self.token.encode()):
            return web.Response(
                status=401, text="oss-monitor web: open the URL with ?token=<the --token value>\n"
            )
        response = await handler(request)
        if "token" in request.query and not response.prepared:
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="Strict")
        return response

    def serve(self, debug: bool = False) -> None:
        self.debug = debug
        self.initialize_logging()
        web.run_app(self._make_app(), sock=self.sock, print=None)
