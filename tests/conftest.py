"""Shared fixtures: tiny catalogues, stores on tmp SQLite (and PostgreSQL), simulated fleets."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitor.sim.fleet import FleetProfile, FleetServer, SimEndpoint, catalogue_yaml
from monitor.store import Store
from tests.helpers import FLEET_KEY


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    db = Store(f"sqlite:///{tmp_path / 'probes.db'}")
    yield db
    db.close()


PG_ENV = "OSS_MONITOR_TEST_PG"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database on the PostgreSQL server named by OSS_MONITOR_TEST_PG
    (.ci/run starts one on 127.0.0.1); dropped afterwards. Nothing mocks the database."""
    server = os.environ.get(PG_ENV)
    if not server:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set: .ci/run should have started PostgreSQL")
        pytest.skip(f"set {PG_ENV}=postgresql+psycopg://user@127.0.0.1:PORT/postgres to run")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"oss_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on both stores we support."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'probes.db'}"
    return str(request.getfixturevalue("postgres_url"))


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
