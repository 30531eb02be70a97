"""Claude Code: the router's address and model in the `env` block of ~/.claude/settings.json.

Claude Code speaks only Anthropic's Messages API, which the router translates, so only the
router can be exported to it. Its base URL is the router's root (Claude Code appends
/v1/messages itself). Values in `env` are literal: no `${VAR}` is expanded there, so the
router's token is referenced through `apiKeyHelper`, a shell command Claude Code runs to get
its key (sent as `Authorization: Bearer` and `x-api-key`), never written into the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from monitor.export import jsonfile
from monitor.export.common import ExportError, Rendered, Target, Writer, home

# Claude Code needs some credential to start; the router ignores it when it has no token.
NO_TOKEN = "oss-monitor-router"
MODEL_VARIABLES = ("ANTHROPIC_MODEL", "ANTHROPIC_SMALL_FAST_MODEL", "ANTHROPIC_DEFAULT_HAIKU_MODEL")


def default_path(env: Mapping[str, str]) -> Path:
    folder = (
        Path(env["CLAUDE_CONFIG_DIR"]) if env.get("CLAUDE_CONFIG_DIR") else home(env) / ".claude"
    )
    return folder / "settings.json"


def render(before: str | None, target: Target, path: Path) -> Rendered:
    if target.endpoint.id != "router":
        raise ExportError(
            "Claude Code speaks Anthropic's Messages API, which only the router translates; "
            "run `oss-monitor router` and export with --via-router"
        )
    base = target.url.rstrip("/").removesuffix("/v1")
    edits = [jsonfile.Edit(("env", "ANTHROPIC_BASE_URL"), base)]
    edits += [jsonfile.Edit(("env", name), target.endpoint.model) for name in MODEL_VARIABLES]
    if target.key is not None:
        edits.append(jsonfile.Edit(("env", "ANTHROPIC_AUTH_TOKEN"), target.key))
    elif target.key_env is not None:
        edits.append(jsonfile.Edit(("apiKeyHelper",), f'printf %s "${target.key_env}"'))
    else:
        edits.append(jsonfile.Edit(("env", "ANTHROPIC_AUTH_TOKEN"), NO_TOKEN))
    notes = ["Restart Claude Code (or start a new `claude` session) to use the router."]
    if target.key_env is not None and target.key is None:
        notes.append(
            f"Claude Code reads the router's token from {target.key_env} through apiKeyHelper; "
            "keep it set where you start `claude`."
        )
    return Rendered(jsonfile.apply(before, path, edits, strict=True), notes)


WRITER = Writer("Claude Code", default_path, render)
