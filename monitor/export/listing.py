"""`export --list`: each target, the file it would write, and whether the tool is installed.

"Installed" is a look at PATH for the tool's programs and at the folders its app or VS Code
extension lives in; nothing is run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from monitor.export import ROUTER_APIS, TOOLS, default_config_path
from monitor.export.common import home


@dataclass(frozen=True)
class Where:
    programs: tuple[str, ...] = ()  # looked up on PATH
    extensions: tuple[str, ...] = ()  # VS Code extension ids (publisher.name)
    apps: tuple[str, ...] = ()  # app folders, relative to HOME when not absolute


_WHERE: dict[str, Where] = {
    "opencode": Where(("opencode",)),
    "kilo": Where(("kilo",), ("kilocode.kilo-code",)),
    "kilo-legacy": Where(extensions=("kilocode.kilo-code",)),
    "crush": Where(("crush",)),
    "continue": Where(("cn",), ("continue.continue",)),
    "aider": Where(("aider",)),
    "codex": Where(("codex",)),
    "qwen": Where(("qwen",)),
    "goose": Where(("goose",), apps=("/Applications/Goose.app",)),
    "zed": Where(("zed", "zeditor"), apps=("/Applications/Zed.app", ".local/zed.app")),
    "roo": Where(extensions=("rooveterinaryinc.roo-cline",)),
}
_EXTENSION_FOLDERS = (".vscode/extensions", ".vscode-server/extensions", ".cursor/extensions")


@dataclass(frozen=True)
class Listed:
    tool: str
    name: str
    path: Path  # the file an export writes without --config
    found: str | None  # where the tool was found on this machine, or None
    router_api: str  # the API it speaks to `oss-monitor router` (--via-router)


def targets(env: Mapping[str, str] | None = None) -> list[Listed]:
    env = os.environ if env is None else env
    return [
        Listed(
            tool,
            name,
            default_config_path(tool, env),
            found(tool, env),
            ROUTER_APIS.get(tool, "chat completions"),
        )
        for tool, name in TOOLS.items()
    ]


def found(tool: str, env: Mapping[str, str]) -> str | None:
    where = _WHERE.get(tool, Where())
    search = env.get("PATH", os.defpath)
    for program in where.programs:
        hit = shutil.which(program, path=search)
        if hit:
            return hit
    for folder in _EXTENSION_FOLDERS:
        root = home(env) / folder
        for extension in where.extensions:
            hits = sorted(root.glob(f"{extension}-*")) if root.is_dir() else []
            if hits:
                return str(hits[-1])
    for app in where.apps:
        place = Path(app) if app.startswith("/") else home(env) / app
        if place.exists():
            return str(place)
    return None
