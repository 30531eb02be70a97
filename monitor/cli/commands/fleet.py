"""`oss-monitor fleet`: the simulated provider fleet alone on 127.0.0.1."""

from __future__ import annotations

import argparse

from monitor.cli import args as a
from monitor.cli.args import EXIT_OK, UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = a.add_command(
        sub,
        "fleet",
        "run the simulated provider fleet alone on 127.0.0.1",
        "  oss-monitor fleet --port 9100 --write-providers sim.yaml\n"
        "  OSS_FLEET_KEY=sim-demo-key-0000 oss-monitor probe --once --providers sim.yaml",
        [],
    )
    parser.add_argument("--port", type=a.port, default=0, help="port (default: any free one)")
    parser.add_argument("--write-providers", metavar="FILE", help="write a catalogue for it")
    parser.add_argument("--profile", metavar="FILE", help="fleet profile instead of the built-in")


def run(args: argparse.Namespace) -> int:
    from monitor.sim.fleet import load_profile, serve_forever

    if not 0 <= args.port <= 65535:
        raise UsageError(f"port {args.port} is not between 0 and 65535")
    serve_forever(load_profile(args.profile), args.port, args.write_providers)
    return EXIT_OK
