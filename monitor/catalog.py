"""The catalogue of endpoints: loading, merging and validating providers.yaml.

Knows nothing of HTTP, SQL or the UI. Every problem with a file is reported as a
`CatalogError` carrying `file:line: what is wrong`, never as a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from monitor.core.plain import field_problem, yaml_problem
from monitor.core.yaml_shape import ShapeError, check_shape

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
URL_VAR = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_FILE_BYTES = 1_000_000
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10x faster

Dialect = Literal["openai", "modelslab", "cloudflare"]


class CatalogError(Exception):
    """A catalogue file that cannot be used; the message is `file:line: what is wrong`."""


# Upper bounds keep arithmetic on these values finite (a 400-digit quota overflows a float).
MAX_PRICE = 1_000_000.0
MAX_COUNT = 1_000_000_000


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    input: float = Field(ge=0, le=MAX_PRICE, description="USD per 1M input tokens")
    output: float = Field(ge=0, le=MAX_PRICE, description="USD per 1M output tokens")


class Quota(BaseModel):
    """The provider's own request limits for the key tier in use."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    rpm: int | None = Field(default=None, gt=0, le=MAX_COUNT)
    rph: int | None = Field(default=None, gt=0, le=MAX_COUNT)
    rpd: int | None = Field(default=None, gt=0, le=MAX_COUNT)


class Endpoint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)
    name: str = Field(min_length=1, max_length=100)
    base_url: str
    model: str = Field(min_length=1)
    api_key_env: str | None = None
    free: bool = False
    price: Price | None = None
    quota: Quota | None = None
    enabled: bool = True
    dialect: Dialect = "openai"
    context: int = Field(default=131072, gt=0, le=MAX_COUNT)
    max_output: int = Field(default=32768, gt=0, le=MAX_COUNT)
    docs: str | None = None
    notes: str | None = None
    deprecated: date | None = None  # the day the provider retires (or retired) this route
    replaced_by: str | None = None  # another endpoint id to use instead

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(URL_VAR.sub("x", value))
        if "@" in parts.netloc:  # httpx would send it as Basic auth instead of our key
            raise ValueError(
                "base_url must not carry a user name or password (user:password@); "
                "put the key in the variable api_key_env names"
            )
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be an http(s) URL, got {value!r}")
        if parts.query or parts.fragment:
            raise ValueError("base_url must not carry a query string or fragment")
        return value.rstrip("/")

    @field_validator("api_key_env")
    @classmethod
    def _check_env(cls, value: str | None) -> str | None:
        if value is not None and not ENV_NAME.match(value):
            raise ValueError(
                f"api_key_env must be an environment variable name like GROQ_API_KEY, got {value!r}"
            )
        return value

    @property
    def url_vars(self) -> list[str]:
        """Environment variables named as `{VAR}` in base_url (e.g. a Cloudflare account id)."""
        return URL_VAR.findall(self.base_url)

    @property
    def keyless(self) -> bool:
        return self.api_key_env is None

    def retirement(self, today: date | None = None) -> str | None:
        """The sentence that explains a retired endpoint, or None when it is not deprecated."""
        if self.deprecated is None:
            return None
        verb = "retires" if self.deprecated > (today or date.today()) else "retired"
        instead = f"; use {self.replaced_by} instead" if self.replaced_by else ""
        return f"{verb} by the provider on {self.deprecated.isoformat()}{instead}"


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    model: str = "gpt-oss-120b"
    providers: list[Endpoint] = Field(default_factory=list)

    @field_validator("providers")
    @classmethod
    def _check_replacements(cls, providers: list[Endpoint]) -> list[Endpoint]:
        ids = {e.id for e in providers}
        for e in providers:
            if e.replaced_by is not None and (e.replaced_by == e.id or e.replaced_by not in ids):
                raise ValueError(
                    f"endpoint {e.id!r} replaced_by: {e.replaced_by!r} must name another "
                    "endpoint id of the catalogue"
                )
        return providers

    def enabled(self) -> list[Endpoint]:
        return [e for e in self.providers if e.enabled]

    def get(self, endpoint_id: str) -> Endpoint:
        for endpoint in self.providers:
            if endpoint.id == endpoint_id:
                return endpoint
        known = ", ".join(e.id for e in self.providers)
        raise KeyError(f"no endpoint {endpoint_id!r} in the catalogue (known: {known})")


@dataclass(frozen=True)
class Credentials:
    """What an endpoint needs from the environment, resolved; `missing` names unset vars."""

    api_key: str | None
    url: str
    missing: tuple[str, ...]


def resolve(endpoint: Endpoint, env: Mapping[str, str]) -> Credentials:
    missing = [v for v in endpoint.url_vars if not env.get(v)]
    url = URL_VAR.sub(lambda m: env.get(m.group(1), m.group(0)), endpoint.base_url)
    key = None
    if endpoint.api_key_env is not None:
        key = env.get(endpoint.api_key_env) or None
        if key is None:
            missing.insert(0, endpoint.api_key_env)
    return Credentials(api_key=key, url=url, missing=tuple(missing))


# ---------------------------------------------------------------- loading


def default_catalog_path() -> Path:
    """The catalogue shipped with the package (a wheel carries it in monitor/data)."""
    packaged = Path(str(resources.files("monitor") / "data" / "providers.yaml"))
    if packaged.is_file():
        return packaged
    # An editable install runs from the source tree, where the file sits at the repository root.
    return Path(__file__).resolve().parent.parent / "providers.yaml"


def user_catalog_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("oss-monitor")) / "providers.yaml"


def catalog_paths(explicit: str | None, env: Mapping[str, str]) -> list[Path]:
    """Which files make the catalogue: an explicit file alone, else the default + user file."""
    chosen = explicit or env.get("OSS_MONITOR_PROVIDERS")
    if chosen:
        return [Path(chosen)]
    paths = [default_catalog_path()]
    user = user_catalog_path()
    if user.is_file():
        paths.append(user)
    return paths


def load_catalog(explicit: str | None = None, env: Mapping[str, str] | None = None) -> Catalog:
    env = os.environ if env is None else env
    paths = catalog_paths(explicit, env)
    merged: dict[str, Any] = {}
    lines: dict[tuple[Any, ...], tuple[Path, int]] = {}
    for path in paths:
        data, file_lines = _read_yaml(path)
        _merge(merged, data, file_lines, lines, path)
    try:
        return Catalog.model_validate(merged)
    except ValidationError as exc:
        raise CatalogError(_describe(exc, merged, lines, paths[-1])) from None


def _read_yaml(path: Path) -> tuple[dict[str, Any], dict[tuple[Any, ...], int]]:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CatalogError(
                f"{path}:1: the file is {size} bytes; a catalogue is at most {MAX_FILE_BYTES}"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogError(
            f"{path}:1: no such file; check --providers or OSS_MONITOR_PROVIDERS"
        ) from None
    except UnicodeDecodeError:
        raise CatalogError(f"{path}:1: the file is not UTF-8 text") from None
    except OSError as exc:
        raise CatalogError(f"{path}:1: cannot read the file ({exc.strerror})") from None
    try:
        check_shape(text)
        # One parse, in C where libyaml is there: the nodes give the lines, then the data.
        loader = YAML_LOADER(text)
        try:
            node = loader.get_single_node()
            if node is None:
                raise CatalogError(
                    f"{path}:1: the file is empty; it needs `providers:` with a list"
                )
            lines: dict[tuple[Any, ...], int] = {}
            _index_lines(node, (), lines, path)
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except ShapeError as exc:
        raise CatalogError(f"{path}:{exc.line}: the YAML {exc.why}; simplify it") from None
    except yaml.YAMLError as exc:
        line, words = yaml_problem(exc)
        raise CatalogError(f"{path}:{line}: {words}") from None
    if not isinstance(data, dict):
        raise CatalogError(f"{path}:1: the top level must be a mapping with `providers:`")
    return data, lines


def _index_lines(
    node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int], file: Path
) -> None:
    """Record the line of every key/item, and refuse duplicate keys (YAML keeps the last)."""
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                raise CatalogError(f"{file}:{key_node.start_mark.line + 1}: duplicate key {key!r}")
            seen.add(key)
            out[(*path, key)] = key_node.start_mark.line + 1
            _index_lines(value_node, (*path, key), out, file)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, (*path, i), out, file)


def _merge(
    merged: dict[str, Any],
    data: dict[str, Any],
    file_lines: dict[tuple[Any, ...], int],
    lines: dict[tuple[Any, ...], tuple[Path, int]],
    path: Path,
) -> None:
    """Merge one file into the catalogue: same id updates field by field, a new id appends."""
    providers = data.get("providers", [])
    if not isinstance(providers, list):
        line = file_lines.get(("providers",), 1)
        raise CatalogError(f"{path}:{line}: `providers` must be a list of endpoints")
    for key, value in data.items():
        if key != "providers":
            merged[key] = value
            lines[(key,)] = (path, file_lines.get((key,), 1))
    target: list[Any] = merged.setdefault("providers", [])
    ids = {e.get("id"): i for i, e in enumerate(target) if isinstance(e, dict)}
    # The lines of each entry, gathered once (scanning every line per entry is quadratic).
    entry_lines: dict[int, list[tuple[tuple[Any, ...], int]]] = {}
    for where, line in file_lines.items():
        if len(where) >= 2 and where[0] == "providers" and isinstance(where[1], int):
            entry_lines.setdefault(where[1], []).append((where[2:], line))
    seen_here: dict[Any, int] = {}
    for i, entry in enumerate(providers):
        line = file_lines.get(("providers", i), 1)
        if isinstance(entry, dict) and "id" in entry:
            endpoint_id = entry["id"]
            if endpoint_id in seen_here:
                raise CatalogError(
                    f"{path}:{line}: duplicate id {endpoint_id!r} "
                    f"(first at line {seen_here[endpoint_id]})"
                )
            seen_here[endpoint_id] = line
            if endpoint_id in ids:
                index = ids[endpoint_id]
                target[index] = {**target[index], **entry}
                _copy_lines(entry_lines.get(i, []), lines, path, ("providers", index))
                continue
        ids[entry.get("id") if isinstance(entry, dict) else None] = len(target)
        _copy_lines(entry_lines.get(i, []), lines, path, ("providers", len(target)))
        target.append(entry)


def _copy_lines(
    entry_lines: list[tuple[tuple[Any, ...], int]],
    lines: dict[tuple[Any, ...], tuple[Path, int]],
    path: Path,
    dst: tuple[Any, ...],
) -> None:
    for rest, line in entry_lines:
        lines[dst + rest] = (path, line)


def _describe(
    exc: ValidationError,
    data: dict[str, Any],
    lines: dict[tuple[Any, ...], tuple[Path, int]],
    fallback: Path,
) -> str:
    messages = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        where = None
        for cut in range(len(loc), -1, -1):
            if loc[:cut] in lines:
                where = lines[loc[:cut]]
                break
        file, line = where or (fallback, 1)
        messages.append(f"{file}:{line}: {_field_name(loc, data)}: {field_problem(error)}")
    return "\n".join(messages)


def _field_name(loc: tuple[Any, ...], data: dict[str, Any]) -> str:
    if len(loc) >= 2 and loc[0] == "providers" and isinstance(loc[1], int):
        entry = data.get("providers", [])[loc[1]]
        who = entry.get("id") if isinstance(entry, dict) else None
        rest = ".".join(str(p) for p in loc[2:])
        label = f"endpoint {who!r}" if who else f"endpoint #{loc[1] + 1}"
        return f"{label} {rest}".strip()
    return ".".join(str(p) for p in loc) or "file"
