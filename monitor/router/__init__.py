"""The local router: app (ASGI, one route per API), forward (the one path every API shares:
pick, attempt, fail over, relay, record), choice (which endpoint now), breaker (a circuit per
endpoint), relay (one attempt; chat passed through), translate / anthropic / responses (the
other APIs over chat completions), recorder (traffic samples), server (binding and running)."""

from monitor.router.app import Router, RouterSettings
from monitor.router.server import RouterError, RouterServer, make_server

__all__ = ["Router", "RouterError", "RouterServer", "RouterSettings", "make_server"]
