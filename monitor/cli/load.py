"""Turning parsed arguments into the things commands work on: catalogue, store, settings."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from monitor.cli.args import UsageError

if TYPE_CHECKING:
    from monitor.catalog import Catalog, Endpoint
    from monitor.core.models import EndpointStats, ProbeSettings
    from monitor.scheduler import ScheduleSettings
    from monitor.store import Store


def load_catalog_from(args: argparse.Namespace) -> Catalog:
    from monitor.catalog import load_catalog

    return load_catalog(args.providers)


def open_store(args: argparse.Namespace, *, create: bool = True) -> Store:
    """The store named by --db; readers (`create=False`) never create, upgrade or lock it."""
    from monitor.store import Store

    return Store(args.db, create=create)


def settings_from(args: argparse.Namespace) -> tuple[ProbeSettings, ScheduleSettings]:
    from monitor.core.models import ProbeSettings
    from monitor.scheduler import ScheduleSettings

    probe_settings = ProbeSettings()
    if getattr(args, "timeout", None):
        probe_settings = ProbeSettings(
            total_s=args.timeout,
            first_token_s=min(probe_settings.first_token_s, args.timeout),
            connect_s=min(probe_settings.connect_s, args.timeout),
        )
    overrides = {
        "interval_s": getattr(args, "interval", None),
        "budget_fraction": getattr(args, "budget", None),
        "concurrency": getattr(args, "concurrency", None),
        "quality_every": getattr(args, "quality_every", None),
        "quality_tight": getattr(args, "quality", None) or None,
        "prober": getattr(args, "prober", None),
        "region": getattr(args, "region", None),
    }
    schedule = ScheduleSettings(**{k: v for k, v in overrides.items() if v is not None})
    return probe_settings, schedule


def select(catalog: Catalog, only: Sequence[str] | None) -> list[Endpoint]:
    if not only:
        return catalog.enabled()
    known = {e.id: e for e in catalog.providers}
    unknown = [i for i in only if i not in known]
    if unknown:
        raise UsageError(
            f"unknown endpoint id {', '.join(unknown)}; `oss-monitor providers` lists them"
        )
    return [known[i] for i in only]


def standings(
    endpoints: Sequence[Endpoint],
    store: Store,
    env: Mapping[str, str],
    window: str,
    prober: str | None = None,
) -> list[EndpointStats]:
    from monitor.report import standings as from_store  # sqlmodel is heavy: import on use

    return from_store(endpoints, store, env, window, prober)
