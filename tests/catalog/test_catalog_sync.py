"""`catalog sync`: the diff against a trimmed models.dev api.json, and the comment-keeping merge."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from monitor import catalog as catalog_module
from monitor.catalog import Catalog, load_catalog
from monitor.export import ExportError
from monitor.export.catalog_sync import (
    TARGET,
    CatalogDiff,
    SyncError,
    compute_diff,
    entry,
    load_api,
    merge,
)

FIXTURE = Path(__file__).parent / "fixtures" / "models_dev_api.json"
TODAY = date(2026, 11, 28)

CATALOGUE = """\
model: gpt-oss-120b
providers:
  - id: openrouter
    name: OpenRouter
    base_url: https://openrouter.ai/api/v1
    model: openai/gpt-oss-120b
    api_key_env: OPENROUTER_API_KEY
    price: {input: 0.039, output: 0.19}
    max_output: 131072
  - id: groq
    name: Groq
    base_url: https://api.groq.com/openai/v1
    model: openai/gpt-oss-120b
    api_key_env: GROQ_API_KEY
    price: {input: 0.15, output: 0.60}
    max_output: 65536
  - id: nvidia
    name: NVIDIA
    base_url: https://integrate.api.nvidia.com/v1
    model: openai/gpt-oss-120b
    api_key_env: NVIDIA_API_KEY
  - id: digitalocean
    name: DigitalOcean
    base_url: https://inference.do-ai.run/v1
    model: openai-gpt-oss-120b
    api_key_env: DIGITALOCEAN_MODEL_ACCESS_KEY
    max_output: 131072
  - id: llamacpp
    name: llama.cpp (local)
    base_url: http://localhost:8080/v1
    model: gpt-oss-120b
    enabled: false
"""


def catalogue(text: str = CATALOGUE) -> Catalog:
    import yaml

    return Catalog.model_validate(yaml.safe_load(text))


def diff_of(text: str = CATALOGUE) -> CatalogDiff:
    return compute_diff(load_api(FIXTURE.read_bytes()), catalogue(text))


def test_diff_finds_new_changed_and_dropped_providers() -> None:
    diff = diff_of()
    new = {o.suggested_id: o for o in diff.new}
    # groq matches exactly; the unrelated llama model and the localhost gateway are ignored.
    assert set(new) == {"bedrock", "crusoe", "venice"}
    crusoe = new["crusoe"]
    assert crusoe.base_url == "https://api.inference.crusoecloud.com/v1"
    assert (crusoe.model, crusoe.api_key_env) == ("openai/gpt-oss-120b", "CRUSOE_API_KEY")
    assert crusoe.price is not None and (crusoe.price.input, crusoe.price.output) == (0.05, 0.2)
    assert (crusoe.context, crusoe.max_output) == (131072, 16384)
    # Bedrock: the listing with an OpenAI-compatible URL wins; ${VAR} becomes our {VAR}.
    assert new["bedrock"].base_url == "https://bedrock-mantle.{AWS_REGION}.api.aws/v1"
    assert new["bedrock"].model == "openai.gpt-oss-120b"
    assert new["bedrock"].api_key_env == "AWS_BEARER_TOKEN_BEDROCK"
    assert entry(new["venice"]) is None  # no OpenAI-compatible URL on models.dev
    changes = {(c.endpoint_id, c.field): (c.old, c.new) for c in diff.changed}
    assert changes == {
        ("openrouter", "price"): (
            {"input": 0.039, "output": 0.19},
            {"input": 0.03, "output": 0.15},
        ),
        ("digitalocean", "price"): (None, {"input": 0.1, "output": 0.7}),
    }
    assert [(d.endpoint_id, d.model, d.listed_now) for d in diff.dropped] == [
        ("nvidia", "openai/gpt-oss-120b", None)
    ]
    json.dumps(diff.as_json())  # serialisable as is


def test_a_free_route_without_a_price_gets_none() -> None:
    key = "    api_key_env: DIGITALOCEAN_MODEL_ACCESS_KEY\n"
    changed = diff_of(CATALOGUE.replace(key, key + "    free: true\n")).changed
    assert ("digitalocean", "price") not in {(c.endpoint_id, c.field) for c in changed}


def test_a_renamed_model_is_dropped_with_the_id_listed_now() -> None:
    renamed = CATALOGUE.replace("model: openai-gpt-oss-120b", "model: gpt-oss-120b-old")
    dropped = {d.endpoint_id: d for d in diff_of(renamed).dropped}
    assert dropped["digitalocean"].listed_now == "openai-gpt-oss-120b"


@pytest.mark.parametrize(
    "model_id",
    ["openai/gpt-oss-120b", "gpt-oss-120b", "gpt-oss:120b", "GPT-OSS-120B",
     "@cf/openai/gpt-oss-120b", "accounts/fireworks/models/gpt-oss-120b",
     "openai.gpt-oss-120b-1:0", "openai-gpt-oss-120b", "hf:openai/gpt-oss-120b"],
)  # fmt: skip
def test_model_ids_that_are_gpt_oss_120b(model_id: str) -> None:
    assert TARGET.search(model_id.lower().replace("gpt-oss:120b", "gpt-oss-120b"))


@pytest.mark.parametrize(
    "model_id",
    ["openai/gpt-oss-20b", "openai/gpt-oss-120b:free", "gpt-oss-120b-fast",
     "openai/gpt-oss-120b-maas", "notgpt-oss-120b", "gpt-oss-1200b"],
)  # fmt: skip
def test_model_ids_that_are_not(model_id: str) -> None:
    assert not TARGET.search(model_id)


def test_hostile_values_are_dropped_not_trusted() -> None:
    api = {
        "evil": {
            "name": "Evil\u0007\u001b[31m",
            "api": "javascript:alert(1)",
            "env": ["EVIL_API_KEY", "not a name", 42],
            "models": {
                "gpt-oss-120b": {
                    "cost": {"input": "free", "output": -1},
                    "limit": {"context": True, "output": float("nan")},
                },
                "x" * 10_000: {},
            },
        },
        "odd": {"name": "Odd", "api": "https://odd.example/v1", "models": {"gpt-oss-120b": {
            "cost": {"input": 1e300, "output": 0.5}, "limit": {"context": 1e12, "output": 4096}}}},
        "not-a-provider": ["models"],
    }  # fmt: skip
    new = {o.provider: o for o in compute_diff(api, catalogue()).new}
    evil, odd = new["evil"], new["odd"]
    assert (evil.name, evil.base_url, evil.price, evil.context) == ("evil", None, None, None)
    assert evil.api_key_env == "EVIL_API_KEY"
    assert (odd.price, odd.context, odd.max_output) == (None, None, 4096)


@pytest.mark.parametrize(
    "raw", [b"not json", b"[1, 2]", b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe"]
)
def test_unusable_api_json_is_one_sentence(raw: bytes) -> None:
    with pytest.raises(SyncError, match=r"models\.dev catalogue"):
        load_api(raw)


USER = """\
# my overrides (keep this comment)
providers:
  - id: groq
    enabled: false  # too slow from here
  - id: mine
    name: My box
    base_url: http://10.0.0.2:8000/v1
    model: gpt-oss-120b
"""


def test_merge_adds_and_updates_and_keeps_the_users_lines() -> None:
    diff = diff_of()
    after = merge(USER, diff, Path("user.yaml"), TODAY)
    assert after.startswith(USER)  # every original line, comment and value is still there
    added = after[len(USER) :]
    assert "updated by `oss-monitor catalog sync` from models.dev on 2026-11-28" in added
    assert "  - id: openrouter\n    price: {input: 0.03, output: 0.15}\n" in added
    assert "  - id: crusoe\n    name: Crusoe\n" in added
    assert "check it, then set enabled: true" in added
    assert "venice" not in added


def test_merged_file_loads_and_a_second_sync_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, user = tmp_path / "shipped.yaml", tmp_path / "user.yaml"
    base.write_text(CATALOGUE)
    user.write_text(merge(USER, diff_of(), user, TODAY))
    monkeypatch.setattr(catalog_module, "default_catalog_path", lambda: base)
    monkeypatch.setattr(catalog_module, "user_catalog_path", lambda: user)
    merged = load_catalog(env={})
    crusoe = merged.get("crusoe")
    assert not crusoe.enabled and crusoe.base_url == "https://api.inference.crusoecloud.com/v1"
    assert merged.get("openrouter").price is not None
    assert not merged.get("groq").enabled  # the user's own override survived
    again = compute_diff(load_api(FIXTURE.read_bytes()), merged)
    assert not again.changed and [o.suggested_id for o in again.new] == ["venice"]
    assert merge(user.read_text(), again, user, TODAY) == user.read_text()


def test_merge_into_a_missing_file_writes_a_fresh_catalogue() -> None:
    after = merge(None, diff_of(), Path("user.yaml"), TODAY)
    assert after.startswith("# Your own oss-monitor catalogue")
    assert "\nproviders:\n  # updated" in after


def test_merge_refuses_a_file_it_cannot_read() -> None:
    with pytest.raises(SyncError, match="`providers` must be a list"):
        merge("providers: {a: 1}\n", diff_of(), Path("u.yaml"), TODAY)
    with pytest.raises(ExportError, match=r"u.yaml:3: YAML error"):
        merge("providers:\n  - id: [x\n", diff_of(), Path("u.yaml"), TODAY)
