"""The probe store: one `Store` over the tables (schema), the engines (engine), the shared
budget (budget), the hourly rollups (rollups) and the reads (queries).

All methods are synchronous and meant to run in a worker thread (`anyio.to_thread`), never on
the event loop. SQLite gets WAL, a busy timeout, and writes that take the write lock up front
(`BEGIN IMMEDIATE`), so several processes (a cron job, a dashboard) share one file safely.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from sqlalchemy import Connection, delete

from monitor.core.models import ProbeResult, Sample, Tally, WindowCounts
from monitor.store import budget, quality, queries, rollups, schema
from monitor.store.budget import Claim, Finished, Grant
from monitor.store.engine import StoreError, as_utc, default_db_url, open_engines, store_url
from monitor.store.quality import QualityFailure
from monitor.store.schema import SCHEMA_VERSION, EndpointState, Probe, RollupHour

__all__ = [
    "SCHEMA_VERSION",
    "Claim",
    "EndpointState",
    "Finished",
    "Grant",
    "Probe",
    "QualityFailure",
    "RollupHour",
    "Store",
    "StoreError",
    "as_utc",
    "default_db_url",
]


class Store:
    """The store at `url`: a SQLAlchemy URL or a SQLite file's path (default: $OSS_MONITOR_DB,
    else a file in the user's data folder).

    `create=True` (writers) creates the store, or upgrades an older one in place. Readers pass
    `create=False`: nothing is created, upgraded or locked, and a store that is missing, or
    older than this version, is a StoreError saying what to run.
    """

    def __init__(self, url: str | None = None, *, create: bool = True):
        self.url = store_url(url or os.environ.get("OSS_MONITOR_DB") or default_db_url())
        self.engines = open_engines(self.url, create)
        self.display = self.engines.display
        self.path = self.engines.path
        self.is_sqlite, self.is_postgres = self.engines.is_sqlite, self.engines.is_postgres
        self.writer, self.reader = self.engines.writer, self.engines.reader
        self.read_only = not create
        try:
            (schema.create if create else schema.check)(self.engines)
        except StoreError:
            self.close()
            raise

    def close(self) -> None:
        self.engines.dispose()

    def _begin(self) -> AbstractContextManager[Connection]:
        if self.read_only:  # a bug, not a user's mistake: readers never write
            raise RuntimeError(f"the store {self.display} was opened for reading only")
        return self.writer.begin()

    # ------------------------------------------------------------ writes

    def reserve(self, claims: Sequence[Claim]) -> list[Grant]:
        """Take a probe slot per claim while its budget has room (see `budget.reserve`)."""
        if not claims:
            return []
        with self.engines.guard(), self._begin() as conn:
            return budget.reserve(conn, claims, self.is_postgres)

    def finish(self, done: Sequence[Finished]) -> list[None]:
        """Fill in the reserved rows with what the probes found; update shared backoff state."""
        if done:
            with self.engines.guard(), self._begin() as conn:
                budget.finish(conn, done)
        return [None] * len(done)

    def add(self, results: Iterable[ProbeResult], prober: str = "") -> int:
        """Insert finished probes in one transaction (imports, benchmarks, tests)."""
        results = list(results)
        with self.engines.guard(), self._begin() as conn:
            budget.add(conn, results, prober)
        return len(results)

    def hold_off(self, endpoint_id: str, until: datetime) -> None:
        """Nobody sharing the store probes this endpoint before `until` (a Retry-After)."""
        with self.engines.guard(), self._begin() as conn:
            budget.hold_off(conn, endpoint_id, until)

    def prune(self, before: datetime) -> int:
        """Delete raw probes (and their quality verdicts) older than `before`; hourly rollups
        stay for long windows."""
        before = as_utc(before)
        with self.engines.guard(), self._begin() as conn:
            conn.execute(delete(schema.QUALITY).where(schema.QUALITY.c.started_at < before))
            query = delete(schema.PROBE).where(schema.PROBE.c.started_at < before)
            deleted = int(conn.execute(query).rowcount or 0)
        if self.is_sqlite:  # give the space back to the file system (outside a transaction)
            with self.engines.guard(), self.reader.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted

    def register_prober(self, label: str, region: str | None) -> None:
        """Say where a prober stands, once per run (the label is on every row it writes)."""
        values = {"region": region, "last_seen": datetime.now(UTC)}
        with self.engines.guard(), self._begin() as conn:
            schema.upsert(conn, schema.PROBER, {"label": label}, values)

    def remember(self, prefix: str, values: Mapping[str, str]) -> None:
        with self.engines.guard(), self._begin() as conn:
            for name, value in values.items():
                schema.upsert(conn, schema.META, {"key": f"{prefix}:{name}"}, {"value": value})

    # ------------------------------------------------------------ reads

    def _read(self) -> Connection:
        return self.reader.connect()

    def count_since(self, endpoint_id: str, since: datetime) -> int:
        """Probes sent to an endpoint since a moment, by every process (the shared budget)."""
        with self.engines.guard(), self._read() as conn:
            return budget.count(conn, endpoint_id, as_utc(since))

    def samples(
        self,
        since: datetime,
        endpoint_ids: Sequence[str] | None = None,
        prober: str | None = None,
    ) -> list[Sample]:
        """Finished probes since a moment, oldest first, as slim tuples for ranking."""
        with self.engines.guard(), self._read() as conn:
            return queries.samples(conn, since, endpoint_ids, prober)

    def in_a_row(self, since: datetime, endpoint_ids: Sequence[str], count: int) -> list[Sample]:
        """Each endpoint's newest chat probes for alerts (see `queries.in_a_row`)."""
        with self.engines.guard(), self._read() as conn:
            return queries.in_a_row(conn, since, endpoint_ids, count)

    def window_counts(
        self,
        since: datetime,
        columns: Sequence[str],
        bounds: Sequence[float],
    ) -> dict[str | None, WindowCounts]:
        """Every probe since a moment counted, per prober and (under None) over all of them,
        for the metrics (see `queries.window_counts`)."""
        with self.engines.guard(), self._read() as conn:
            return queries.window_counts(conn, since, columns, bounds)

    def latest(
        self, since: datetime, endpoint_ids: Sequence[str], prober: str | None = None
    ) -> list[Sample]:
        """Each endpoint's few newest samples that decide its state (see `queries.latest`)."""
        with self.engines.guard(), self._read() as conn:
            return queries.latest(conn, since, endpoint_ids, prober)

    def tallies(
        self, since: datetime, prober: str | None = None, kept: rollups.TallyKept | None = None
    ) -> dict[str, Tally]:
        """Chat probe counts and latency histograms per endpoint (see `rollups.tallies`)."""
        with self.engines.guard(), self._read() as conn:
            return rollups.tallies(conn, since, prober, kept)

    def counts(self, since: datetime, prober: str | None = None) -> dict[str, int]:
        """Probes counted per endpoint in the hours since a moment (see `rollups.counts`)."""
        with self.engines.guard(), self._read() as conn:
            return rollups.counts(conn, since, prober)

    def traffic(self, since: datetime) -> tuple[int, int]:
        """(answered, failed) upstream attempts the router stored since a moment."""
        with self.engines.guard(), self._read() as conn:
            return queries.traffic(conn, since)

    def probers(self, since: datetime) -> dict[str, str | None]:
        """Every prober that stored something since a moment, with its region if it told us."""
        with self.engines.guard(), self._read() as conn:
            return queries.probers(conn, since)

    def older_than(self, before: datetime) -> list[tuple[str, int, datetime]]:
        """What `prune(before)` would delete: per endpoint, the raw probes and the oldest."""
        with self.engines.guard(), self._read() as conn:
            return queries.older_than(conn, before)

    def recent(self, endpoint_id: str, limit: int = 50) -> list[Probe]:
        with self.engines.guard(), self._read() as conn:
            return queries.recent(conn, endpoint_id, limit)

    def rollups(self, since: datetime, endpoint_id: str | None = None) -> list[RollupHour]:
        with self.engines.guard(), self._read() as conn:
            return queries.rollups(conn, since, endpoint_id)

    def states(self) -> dict[str, EndpointState]:
        with self.engines.guard(), self._read() as conn:
            return queries.states(conn)

    def quality_counts(
        self, since: datetime, prober: str | None = None
    ) -> dict[str, tuple[int, int]]:
        """(passed, total) quality items per endpoint since a moment."""
        with self.engines.guard(), self._read() as conn:
            return quality.counts(conn, since, prober)

    def quality_failures(self, endpoint_id: str, limit: int = 10) -> list[QualityFailure]:
        """An endpoint's newest failed quality items, newest first (the detail screen)."""
        with self.engines.guard(), self._read() as conn:
            return quality.failures(conn, endpoint_id, limit)

    def remembered(self, prefix: str) -> dict[str, str]:
        """Small named values kept across runs and hosts (e.g. the last alert per endpoint)."""
        with self.engines.guard(), self._read() as conn:
            return queries.remembered(conn, prefix)
