"""What every tool writer shares: the error type, the resolved target, and where homes are."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from monitor.catalog import Endpoint

OUR_ID = "oss-monitor"  # the provider/profile id we own in every tool's config


class ExportError(Exception):
    """An export that cannot go ahead; the message is one sentence saying what to do."""


@dataclass(frozen=True)
class Target:
    """The endpoint as a tool config needs it: a concrete URL and how to find the key."""

    endpoint: Endpoint
    url: str  # base_url with `{VAR}` parts filled in from the environment
    key_env: str | None  # the variable holding the key; None for a keyless endpoint
    key: str | None = None  # the literal key, only when the user asked for --include-key


@dataclass(frozen=True)
class Rendered:
    after: str
    notes: list[str] = field(default_factory=list)
    # Files wholly ours that the tool's config points at (e.g. Aider's model metadata): written
    # with the config, replaced whole, never holding a key.
    companions: dict[Path, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Writer:
    name: str
    default_path: Callable[[Mapping[str, str]], Path]
    render: Callable[[str | None, Target, Path], Rendered]
    # Warnings naming files the tool loads after `path` that would override our choice.
    overrides: Callable[[Path, Mapping[str, str]], list[str]] | None = None


def home(env: Mapping[str, str]) -> Path:
    return Path(env["HOME"]) if env.get("HOME") else Path.home()


def config_home(env: Mapping[str, str]) -> Path:
    """$XDG_CONFIG_HOME, else ~/.config (OpenCode, Kilo and Crush use it on macOS too)."""
    return Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else home(env) / ".config"


def data_home(env: Mapping[str, str]) -> Path:
    return Path(env["XDG_DATA_HOME"]) if env.get("XDG_DATA_HOME") else home(env) / ".local/share"


def first_existing(folder: Path, names: tuple[str, ...], new: str) -> Path:
    """The first of `names` that exists in `folder`, else `folder/new`."""
    for name in names:
        if (folder / name).exists() or (folder / name).is_symlink():
            return folder / name
    return folder / new


def parse_failure(path: Path, line: int, why: str) -> ExportError:
    return ExportError(f"{path}:{line}: {why}; fix the file, nothing was changed")
