"""Everything that speaks HTTP to providers, shared by the probe and the router.

dialects (request shapes per provider), client (the shared connection pool), exchange (the SSE
parser and the timing of one request), classify (status and transport failures), redact (keys).
"""

import sys

# httpx imports its own command-line client (click, rich, pygments) whenever click is installed
# (uvicorn brings it): ~50 ms of start-up for a module we never use. None in sys.modules makes
# that import fail, and httpx goes without its CLI. (This package loads before httpx does.)
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
