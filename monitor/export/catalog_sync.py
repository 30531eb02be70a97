"""`catalog sync`: compare the catalogue with models.dev and merge what changed into a user file.

models.dev's api.json is one object per provider: `{id, name, env: [...], npm, api, doc,
models: {model_id: {id, name, cost: {input, output}, limit: {context, output}, status,
provider: {api}}}}`; `api` (the OpenAI-compatible base URL) is absent for providers that have
their own SDK. Every value in it is untrusted: types are checked and numbers clamped before use.
No HTTP and no file writes here; `merge` returns the new text of the user's providers.yaml.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from monitor.catalog import ENV_NAME, URL_VAR, Catalog, Endpoint, Price
from monitor.export import yamlfile

# gpt-oss-120b under any prefix (openai/, @cf/openai/, accounts/…/models/, openai.) and an
# optional Bedrock-style version (-1:0); variants such as :free or -fast are other models.
TARGET = re.compile(r"(?:^|[/.:@_-])gpt-oss-120b(?:-\d+:\d+)?$")
# models.dev provider ids that our catalogue spells differently.
ALIASES = {
    "amazon-bedrock": "bedrock",
    "cloudflare-workers-ai": "cloudflare",
    "fireworks-ai": "fireworks",
    "google-vertex": "vertex",
    "io-net": "ionet",
    "novita-ai": "novita",
    "regolo-ai": "regolo",
    "togetherai": "together",
}
# A new user file is written in the shipped catalogue's indentation (yamlfile.dump copies the
# style of the text it is given).
NEW_FILE_STYLE = "providers:\n  - id: x\n    name: y\n"
NEW_FILE_HEADER = (
    "Your own oss-monitor catalogue: an entry with a shipped id overrides it key by key,\n"
    "a new id adds an endpoint. See the header of the shipped providers.yaml for the keys."
)
KEY_NAME = re.compile(r"API_KEY|TOKEN|_PAT$")
MAX_PROVIDERS, MAX_MODELS = 2_000, 20_000
MAX_TEXT, MAX_TOKENS, MAX_PRICE = 300, 100_000_000, 10_000.0


class SyncError(Exception):
    """A catalogue from models.dev (or a user file) that cannot be used; one sentence."""


@dataclass(frozen=True)
class Offer:
    """One provider's listing of the model on models.dev, values checked."""

    provider: str  # models.dev provider id
    name: str
    model: str
    base_url: str | None  # None: models.dev names no usable OpenAI-compatible URL
    api_key_env: str | None
    price: Price | None
    context: int | None
    max_output: int | None
    docs: str | None
    suggested_id: str = ""  # the id a new entry gets in the user's catalogue


@dataclass(frozen=True)
class Change:
    endpoint_id: str
    field: str  # price | context | max_output
    old: Any
    new: Any


@dataclass(frozen=True)
class Dropped:
    endpoint_id: str
    provider: str
    model: str
    listed_now: str | None  # the gpt-oss-120b id the provider lists instead, if any


@dataclass(frozen=True)
class CatalogDiff:
    new: tuple[Offer, ...]
    changed: tuple[Change, ...]
    dropped: tuple[Dropped, ...]

    @property
    def empty(self) -> bool:
        return not (self.new or self.changed or self.dropped)

    def as_json(self) -> dict[str, Any]:
        return {
            "new": [{**_offer_json(o), "entry": entry(o)} for o in self.new],
            "changed": [vars(c) for c in self.changed],
            "dropped": [vars(d) for d in self.dropped],
        }


# ---------------------------------------------------------------- reading models.dev


@dataclass(frozen=True)
class _Provider:
    id: str
    name: str
    api: str | None
    env: tuple[str, ...]
    doc: str | None
    models: dict[str, tuple[str, Mapping[str, Any]]]  # lowercased id -> (id, raw entry)


def load_api(raw: bytes) -> Mapping[str, Any]:
    """Parse api.json; refuse anything that is not an object of providers."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise SyncError("the models.dev catalogue is not valid JSON; try again later") from None
    if not isinstance(data, dict):
        raise SyncError("the models.dev catalogue is not an object of providers; check the URL")
    return data


def _providers(api: Mapping[str, Any]) -> dict[str, _Provider]:
    out: dict[str, _Provider] = {}
    for key, raw in islice(api.items(), MAX_PROVIDERS):
        pid = _text(key)
        if pid is None or not isinstance(raw, dict) or not isinstance(raw.get("models"), dict):
            continue
        models: dict[str, tuple[str, Mapping[str, Any]]] = {}
        for model_key, entry in islice(raw["models"].items(), MAX_MODELS):
            model_id = _text(model_key)
            if model_id is not None and isinstance(entry, dict):
                models[model_id.lower()] = (model_id, entry)
        env = raw.get("env")
        names = tuple(v for v in env if isinstance(v, str) and ENV_NAME.match(v)) if env else ()
        out[pid] = _Provider(
            pid, _text(raw.get("name")) or pid, _url(raw.get("api")), names,
            _text(raw.get("doc")), models,
        )  # fmt: skip
    return out


def _offer(provider: _Provider, model_id: str, entry: Mapping[str, Any]) -> Offer:
    override = entry.get("provider")
    base_url = _url(override.get("api")) if isinstance(override, dict) else None
    base_url = base_url or provider.api
    limit = entry.get("limit")
    limit = limit if isinstance(limit, dict) else {}
    return Offer(
        provider=provider.id,
        name=provider.name,
        model=model_id,
        base_url=base_url,
        api_key_env=_key_env(provider.env, base_url),
        price=_price(entry.get("cost")),
        context=_count(limit.get("context")),
        max_output=_count(limit.get("output")),
        docs=provider.doc,
    )


def _best_offer(provider: _Provider) -> Offer | None:
    """The provider's gpt-oss-120b listing; the shortest id wins when it has several."""
    matches = sorted(
        (mid for low, (mid, _) in provider.models.items() if TARGET.search(low)),
        key=lambda mid: (provider.models[mid.lower()][1].get("status") == "deprecated", len(mid)),
    )
    if not matches:
        return None
    return _offer(provider, matches[0], provider.models[matches[0].lower()][1])


# ---------------------------------------------------------------- the diff


def compute_diff(api: Mapping[str, Any], catalog: Catalog) -> CatalogDiff:
    """What models.dev says about gpt-oss-120b that the catalogue does not (yet) say."""
    providers = {p.id: p for p in _providers(api).values() if not _local(p.api)}
    offers = {pid: o for pid, p in providers.items() if (o := _best_offer(p)) is not None}
    changed: list[Change] = []
    dropped: list[Dropped] = []
    seen: set[str] = set()
    for endpoint in catalog.providers:
        provider = None if _local(endpoint.base_url) else _provider_for(endpoint, providers)
        if provider is None:
            continue
        seen.add(provider.id)
        listed = provider.models.get(endpoint.model.lower())
        if listed is None:
            now = offers.get(provider.id)
            instead = now.model if now else None
            dropped.append(Dropped(endpoint.id, provider.id, endpoint.model, instead))
            continue
        changed.extend(_changes(endpoint, _offer(provider, *listed)))
    taken = {e.id for e in catalog.providers}
    new = []
    for pid, offer in sorted(offers.items()):
        if pid not in seen:
            new.append(replace(offer, suggested_id=_new_id(pid, taken)))
            taken.add(new[-1].suggested_id)
    return CatalogDiff(tuple(new), tuple(changed), tuple(dropped))


def _provider_for(endpoint: Endpoint, providers: Mapping[str, _Provider]) -> _Provider | None:
    """The same provider on models.dev: by id (or alias), else by base URL, else by host."""
    for pid, provider in providers.items():
        if endpoint.id in (pid, ALIASES.get(pid)):
            return provider
    url = endpoint.base_url.lower()
    by_url = [p for p in providers.values() if p.api and p.api.lower() == url]
    host = _host(url)
    by_host = [p for p in providers.values() if p.api and _host(p.api) == host]
    found = by_url or by_host
    return found[0] if found else None


def _changes(endpoint: Endpoint, offer: Offer) -> list[Change]:
    out = []
    # A free route without a price keeps none: the paid price is not what it costs.
    priced = endpoint.price is not None or not endpoint.free
    if offer.price is not None and offer.price != endpoint.price and priced:
        old = endpoint.price.model_dump() if endpoint.price else None
        out.append(Change(endpoint.id, "price", old, offer.price.model_dump()))
    for field in ("context", "max_output"):
        new = getattr(offer, field)
        if new is not None and new != getattr(endpoint, field):
            out.append(Change(endpoint.id, field, getattr(endpoint, field), new))
    return out


def entry(offer: Offer) -> dict[str, Any] | None:
    """The providers.yaml entry for a new offer (disabled until checked), None if unusable."""
    if offer.base_url is None:
        return None
    fields: dict[str, Any] = {
        "id": offer.suggested_id,
        "name": offer.name,
        "base_url": offer.base_url,
        "model": offer.model,
        "api_key_env": offer.api_key_env,
        "free": offer.price is not None and offer.price.input == offer.price.output == 0,
        "price": offer.price.model_dump() if offer.price else None,
        "enabled": False,
        "context": offer.context,
        "max_output": offer.max_output,
        "docs": offer.docs,
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    try:
        Endpoint.model_validate(fields)
    except ValidationError:
        return None
    return fields


# ---------------------------------------------------------------- merging into the user file


def merge(user_text: str | None, diff: CatalogDiff, path: Path, today: date) -> str:
    """The user's providers.yaml with new offers added (disabled) and changed values updated.

    Round-trip YAML: comments, order and quoting of the user's own lines are kept. Endpoints
    no longer listed are only reported: `catalog check` asks the provider itself.
    """
    data = yamlfile.load(user_text, path)
    if data is None:
        data = CommentedMap()
        data.yaml_set_start_comment(NEW_FILE_HEADER)
    if data.get("providers") is None:
        data["providers"] = CommentedSeq()
    providers = data["providers"]
    if not isinstance(providers, CommentedSeq):
        raise SyncError(f"{path}: `providers` must be a list; fix the file, nothing was changed")
    stamp = f"by `oss-monitor catalog sync` from models.dev on {today.isoformat()}"
    for change in diff.changed:
        value = _flow(change.new) if isinstance(change.new, dict) else change.new
        _upsert(providers, change.endpoint_id, {change.field: value}, f"updated {stamp}")
    for offer in diff.new:
        fields = entry(offer)
        if fields is not None:
            if "price" in fields:
                fields["price"] = _flow(fields["price"])
            note = f"added {stamp}; check it, then set enabled: true"
            _upsert(providers, offer.suggested_id, fields, note)
    fresh = user_text is None or not user_text.strip()
    return yamlfile.dump(data, NEW_FILE_STYLE if fresh else user_text)


def _upsert(providers: CommentedSeq, endpoint_id: str, fields: dict[str, Any], note: str) -> None:
    for item in providers:
        if isinstance(item, dict) and item.get("id") == endpoint_id:
            item.update({k: v for k, v in fields.items() if v is not None})
            return
    item = CommentedMap({"id": endpoint_id})
    item.update({k: v for k, v in fields.items() if v is not None and k != "id"})
    providers.append(item)
    providers.yaml_set_comment_before_after_key(len(providers) - 1, before=note, indent=2)


def _flow(mapping: dict[str, Any]) -> CommentedMap:
    out = CommentedMap(mapping)
    out.fa.set_flow_style()
    return out


# ---------------------------------------------------------------- checked values


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > MAX_TEXT or not value.isprintable():
        return None
    return value


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return int(value) if 0 < value <= MAX_TOKENS else None


def _price(cost: Any) -> Price | None:
    if not isinstance(cost, dict):
        return None
    parts = [cost.get("input"), cost.get("output")]
    numbers = [float(v) for v in parts if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) != 2 or not all(math.isfinite(v) and 0 <= v <= MAX_PRICE for v in numbers):
        return None
    return Price(input=numbers[0], output=numbers[1])


def _url(value: Any) -> str | None:
    """A base URL we can use: http(s), `${VAR}` written as our `{VAR}`, valid as an Endpoint's."""
    text = _text(value)
    if text is None:
        return None
    text = text.replace("${", "{")
    try:
        return Endpoint(id="x", name="x", model="x", base_url=text).base_url
    except ValidationError:
        return None


def _key_env(names: Iterable[str], base_url: str | None) -> str | None:
    """The variable holding the key: not one the URL needs, preferably named like a key."""
    url_vars = set(URL_VAR.findall(base_url or ""))
    candidates = [n for n in names if n not in url_vars]
    keyish = [n for n in candidates if KEY_NAME.search(n)]
    found = keyish or candidates
    return found[0] if found else None


def _host(url: str) -> str | None:
    return urlsplit(URL_VAR.sub("x", url)).netloc.lower() or None


def _local(url: str | None) -> bool:
    """A base URL on this machine (local servers and self-hosted gateways are not providers)."""
    host = urlsplit(URL_VAR.sub("x", url)).hostname if url else None
    if host is None or host == "localhost":
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _new_id(provider_id: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9-]+", "-", ALIASES.get(provider_id, provider_id).lower())
    base = base.strip("-")[:60] or "provider"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _offer_json(offer: Offer) -> dict[str, Any]:
    return {**vars(offer), "price": offer.price.model_dump() if offer.price else None}
