"""Turning parsed arguments into the things commands work on: catalogue, store, settings."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.cli.args import UsageError

if TYPE_CHECKING:
    from monitor.catalog import Catalog, Endpoint
    from monitor.core.models import EndpointStats, ProbeSettings
    from monitor.scheduler import ScheduleSettings
    from monitor.sim.fleet import FleetProfile
    from monitor.store import Store

MODEL = "gpt-oss-120b"


def load_catalog_from(args: argparse.Namespace) -> Catalog:
    from monitor.catalog import load_catalog

    catalog = load_catalog(args.providers)
    warn_about_model(catalog.model)
    return catalog


def warn_about_model(model: str) -> None:
    """Ranking endpoints of another model is allowed (a test catalogue) but worth a word."""
    if model != MODEL:
        print(
            f"oss-monitor: warning: the catalogue says `model: {model}`; oss-monitor measures "
            f"{MODEL} endpoints, so check that every endpoint really serves one model",
            file=sys.stderr,
        )


def load_profile_from(path: str | None) -> FleetProfile:
    """A fleet profile (`fleet`/`demo --profile`), every problem as one sentence."""
    import yaml
    from pydantic import ValidationError

    from monitor.core.plain import field_problem, yaml_problem
    from monitor.sim.fleet import load_profile

    try:
        return load_profile(path)
    except OSError as exc:
        raise UsageError(
            f"{path}: cannot read the profile ({exc.strerror}); check --profile"
        ) from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: the profile is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        line, words = yaml_problem(exc)
        raise UsageError(f"{path}:{line}: {words}") from None
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "the file"
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise UsageError(f"{path}: {where}: {field_problem(error)}{more}") from None


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


def check_output(path: str) -> Path:
    """A file the user asked us to write, checked before any work starts."""
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise UsageError(
            f"cannot write {path}: the folder {folder} does not exist; create it first"
        )
    if target.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder; name a file")
    return target


def write_output(path: str, text: str) -> None:
    """Write a file the user named (atomically), or say in one sentence why it cannot be."""
    import os
    import tempfile

    target = check_output(path)
    folder = target.parent
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
    written = None
    try:
        with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, suffix=".tmp") as tmp:
            written = tmp.name
            tmp.write(text)
        os.chmod(written, mode)
        os.replace(written, target)
    except OSError as exc:
        if written:
            with contextlib.suppress(OSError):
                os.unlink(written)
        raise UsageError(f"cannot write {path} ({exc.strerror}); pick another path") from None
