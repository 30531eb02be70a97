"""Running the router: bind first (a busy port is one sentence), then serve with uvicorn."""

from __future__ import annotations

import threading

import uvicorn

from monitor.core.net import listen, url_of
from monitor.router.app import Router


class RouterError(Exception):
    """The router cannot start; the message says what to do."""


def make_server(router: Router) -> uvicorn.Server:
    # loop and http "auto": uvloop and httptools where installed, else asyncio and h11.
    config = uvicorn.Config(
        router.app, log_level="warning", lifespan="on", timeout_keep_alive=120, access_log=False
    )
    return uvicorn.Server(config)


class RouterServer:
    """The router in a background thread (tests, the benchmark); stops when the block ends."""

    def __init__(self, router: Router, host: str = "127.0.0.1", port: int = 0):
        self.router = router
        self.sock = listen(host, port)
        self.url = url_of(self.sock, "/v1")
        self.server = make_server(router)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> RouterServer:
        self.thread.start()
        if not self.router.ready.wait(timeout=30):
            raise RouterError(f"the router did not start on {self.url}")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
