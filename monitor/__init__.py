"""oss-monitor: find the fastest, most reliable endpoint serving gpt-oss-120b, right now."""

import sys

# httpx imports its own command-line client (click, rich, pygments) whenever click is installed
# (uvicorn brings it): ~50 ms of start-up for a module we never use. None in sys.modules makes
# that import fail, and httpx goes without its CLI. Here, because this package loads before
# any of our modules imports httpx.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

__version__ = "0.1.0"
