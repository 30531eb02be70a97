"""`oss-monitor fleet`: the simulated provider fleet alone on 127.0.0.1."""

from __future__ import annotations

import argparse
import contextlib

from monitor.cli import args as a
from monitor.cli.args import EXIT_OK, UsageError
from monitor.cli.load import check_output, load_profile_from, write_output
from monitor.cli.startup import started
from monitor.core.format import plural


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
    parser.add_argument(
        "--write-providers", metavar="FILE", help="write a catalogue for it (a providers.yaml)"
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="fleet profile instead of the built-in data/fleet.yaml"
    )


def run(args: argparse.Namespace) -> int:
    from monitor.sim.fleet import FLEET_KEY_ENV, FleetServer, catalogue_yaml

    profile = load_profile_from(args.profile)
    if args.write_providers:
        check_output(args.write_providers)
    try:
        server = FleetServer(profile, port=args.port)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on 127.0.0.1:{args.port} ({exc.strerror}); pick another --port, "
            "or 0 for any free one"
        ) from None
    with server:
        if args.write_providers:
            write_output(args.write_providers, catalogue_yaml(profile, server.base_url))
        print(f"simulated fleet: {plural(len(profile.endpoints), 'endpoint')} on {server.base_url}")
        print(f"key: export {FLEET_KEY_ENV}={profile.api_key}")
        if args.write_providers:
            print(
                f"catalogue written to {args.write_providers} "
                f"(use --providers {args.write_providers})"
            )
        print("Ctrl-C stops it.", flush=True)
        started()
        with contextlib.suppress(KeyboardInterrupt):
            server.thread.join()
    return EXIT_OK
