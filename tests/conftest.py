"""Shared fixtures: tiny catalogues, stores on tmp SQLite, and simulated fleets on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitor.fleet import FleetProfile, FleetServer, SimEndpoint, catalogue_yaml
from monitor.store import Store
from tests.helpers import FLEET_KEY


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    db = Store(f"sqlite:///{tmp_path / 'probes.db'}")
    yield db
    db.close()


@pytest.fixture
def run_fleet(tmp_path: Path) -> Iterator[Callable[..., tuple[FleetServer, Path]]]:
    """Start a fleet of the given simulated endpoints; returns (server, catalogue path)."""
    servers: list[FleetServer] = []

    def start(*endpoints: SimEndpoint, seed: int = 7) -> tuple[FleetServer, Path]:
        profile = FleetProfile(api_key=FLEET_KEY, seed=seed, endpoints=list(endpoints))
        server = FleetServer(profile).__enter__()
        servers.append(server)
        path = tmp_path / f"fleet-{len(servers)}.yaml"
        path.write_text(catalogue_yaml(profile, server.base_url))
        return server, path

    yield start
    for server in servers:
        server.__exit__(None, None, None)
