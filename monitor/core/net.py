"""Listening sockets for our own servers (router, web dashboard), bound before serving."""

from __future__ import annotations

import ipaddress
import socket


class ListenError(Exception):
    """We cannot listen where asked; the message says what to do."""


def listen(host: str, port: int) -> socket.socket:
    """Bind before serving, so a busy port is one clear sentence rather than a traceback."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        raise ListenError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); pick another --port or --host"
        ) from None


def is_loopback(host: str) -> bool:
    """Only this machine can reach it: no token needed."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_of(sock: socket.socket, path: str = "") -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}{path}"
