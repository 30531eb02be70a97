"""The local router: app (ASGI, one route per API), choice (which endpoint now), relay (one
attempt handed on to the client), recorder (traffic samples), server (binding and running)."""

from monitor.router.app import Router, RouterSettings
from monitor.router.server import RouterError, RouterServer, make_server

__all__ = ["Router", "RouterError", "RouterServer", "RouterSettings", "make_server"]
