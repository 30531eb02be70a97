"""Where the local router listens unless told otherwise, and the variable holding its token.

The router command and the exports that point a tool at the router both need them; kept
apart from models.py so the command line can read them without importing pydantic.
"""

ROUTER_DEFAULT_PORT = 8765
ROUTER_DEFAULT_URL = f"http://127.0.0.1:{ROUTER_DEFAULT_PORT}/v1"
ROUTER_TOKEN_ENV = "OSS_MONITOR_ROUTER_TOKEN"
