"""The catalogue: the shipped providers.yaml, merging, and a clear `file:line:` for bad files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.catalog import (
    CatalogError,
    Endpoint,
    default_catalog_path,
    load_catalog,
    resolve,
)

REQUIRED_IDS = {
    "openrouter", "groq", "cerebras", "nvidia", "together", "fireworks", "deepinfra",
    "sambanova", "huggingface", "nebius", "novita", "baseten", "scaleway", "ovhcloud",
    "cloudflare", "vercel", "ollama-cloud", "modelslab", "oxen", "wandb", "ionet",
    "siliconflow", "vllm", "llamacpp", "ollama", "lmstudio",
}  # fmt: skip

GOOD = """\
model: gpt-oss-120b
providers:
  - id: alpha
    name: Alpha
    base_url: https://alpha.example/v1
    model: openai/gpt-oss-120b
    api_key_env: ALPHA_KEY
"""


def test_shipped_catalogue_is_valid_and_complete() -> None:
    catalog = load_catalog(str(default_catalog_path()), env={})
    ids = [e.id for e in catalog.providers]
    assert len(ids) == len(set(ids))
    assert set(ids) >= REQUIRED_IDS
    assert len(catalog.enabled()) >= 20
    local = {e.id: e for e in catalog.providers if e.id in ("vllm", "llamacpp", "ollama")}
    assert all(e.keyless and not e.enabled for e in local.values())
    assert catalog.get("modelslab").dialect == "modelslab"
    assert catalog.get("cloudflare").url_vars == ["CLOUDFLARE_ACCOUNT_ID"]


def write(tmp_path: Path, text: str | bytes, name: str = "providers.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


BROKEN = [
    ("syntax error", GOOD + "  - id: [unclosed\n", 9, "add the ']' (it starts at line 8)"),
    ("tab indentation", GOOD.replace("    name", "\tname"), 4, "indent with spaces only"),
    ("empty file", "", 1, "empty"),
    ("only a comment", "# nothing\n", 1, "empty"),
    ("top level is a list", "- a\n- b\n", 1, "top level must be a mapping"),
    ("providers not a list", "providers: {id: x}\n", 1, "must be a list"),
    ("wrong type for enabled", GOOD + "    enabled: maybe\n", 8, "enabled: must be true or false"),
    ("wrong type for quota", GOOD + "    quota: 30\n", 8, "quota"),
    ("negative quota", GOOD + "    quota: {rpm: -1}\n", 8, "quota.rpm: must be more than 0"),
    ("unknown quota key", GOOD + "    quota: {rpw: 5}\n", 8, "unknown key"),
    ("unknown key", GOOD + "    colour: red\n", 8, "colour: unknown key"),
    ("unknown top-level key", "extra: 1\n" + GOOD, 1, "extra: unknown key"),
    ("missing model", GOOD.replace("    model: openai/gpt-oss-120b\n", ""), 3, "required"),
    ("bad id", GOOD.replace("id: alpha", "id: Alpha_1"), 3, "id: must be lowercase a-z"),
    ("duplicate ids", GOOD + GOOD.split("providers:\n")[1], 8, "duplicate id 'alpha'"),
    ("duplicate keys", GOOD + "    name: Again\n", 8, "duplicate key 'name'"),
    ("ftp url", GOOD.replace("https://alpha.example/v1", "ftp://alpha.example"), 5, "http(s)"),
    ("url without host", GOOD.replace("https://alpha.example/v1", "https:///v1"), 5, "http(s)"),
    ("url with query", GOOD.replace("/v1", "/v1?x=1"), 5, "query string"),
    ("env var not a name", GOOD.replace("ALPHA_KEY", "alpha key"), 7, "environment variable"),
    ("bad dialect", GOOD + "    dialect: grpc\n", 8, "dialect"),
    ("python object tag", GOOD + "    notes: !!python/object/apply:os.system [echo]\n", 8,
     "`!tag`, which a catalogue may not use"),
    ("custom tag", GOOD + "    notes: !secret value\n", 8, "`!tag`, which a catalogue may not use"),
    ("not utf-8", b"providers:\n  - id: \xff\xfe\n", 1, "not UTF-8"),
    ("huge file", "# " + "x" * 1_100_000 + "\n" + GOOD, 1, "at most"),
]  # fmt: skip


@pytest.mark.parametrize(("why", "text", "line", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_catalogue_gives_file_line_message(
    tmp_path: Path, why: str, text: str | bytes, line: int, message: str
) -> None:
    path = write(tmp_path, text)
    before = path.read_bytes()
    with pytest.raises(CatalogError) as caught:
        load_catalog(str(path), env={})
    first = str(caught.value).splitlines()[0]
    assert first.startswith(f"{path}:{line}: "), first
    assert message in str(caught.value)
    assert "Traceback" not in str(caught.value)
    assert path.read_bytes() == before  # a bad file is never touched


def test_missing_file_says_which_option(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="no such file; check --providers"):
        load_catalog(str(tmp_path / "nope.yaml"), env={})


def test_env_var_picks_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    catalog = load_catalog(None, env={"OSS_MONITOR_PROVIDERS": str(path)})
    assert [e.id for e in catalog.providers] == ["alpha"]


def test_user_file_overrides_by_id_and_appends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = tmp_path / "config" / "providers.yaml"
    user.parent.mkdir()
    user.write_text(
        "providers:\n"
        "  - {id: groq, enabled: false}\n"
        "  - {id: mine, name: Mine, base_url: 'http://127.0.0.1:9/v1', model: m}\n"
    )
    monkeypatch.setattr("monitor.catalog.user_catalog_path", lambda: user)
    catalog = load_catalog(None, env={})
    groq = catalog.get("groq")
    assert groq.enabled is False
    assert groq.base_url == "https://api.groq.com/openai/v1"  # the rest is the shipped entry
    assert catalog.providers[-1].id == "mine"


def test_error_in_user_file_points_at_user_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = write(tmp_path, "providers:\n  - id: groq\n    enabled: sometimes\n")
    monkeypatch.setattr("monitor.catalog.user_catalog_path", lambda: user)
    with pytest.raises(CatalogError, match=re.escape(f"{user}:3: endpoint 'groq' enabled")):
        load_catalog(None, env={})


def test_resolve_fills_url_vars_and_names_missing() -> None:
    endpoint = Endpoint(
        id="cf",
        name="CF",
        base_url="https://api.example/accounts/{ACCOUNT}/ai/v1",
        model="m",
        api_key_env="CF_TOKEN",
        dialect="cloudflare",
    )
    creds = resolve(endpoint, {"ACCOUNT": "abc"})
    assert creds.missing == ("CF_TOKEN",)
    creds = resolve(endpoint, {"ACCOUNT": "abc", "CF_TOKEN": "t"})
    assert creds.url == "https://api.example/accounts/abc/ai/v1"
    assert creds.api_key == "t" and creds.missing == ()
    assert resolve(endpoint, {"CF_TOKEN": "t"}).missing == ("ACCOUNT",)


@settings(
    max_examples=150,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
@given(st.text(alphabet=st.sampled_from(list("abc:-[]{}!&*#'\"\n 0123456789")), max_size=200))
def test_loader_never_crashes_on_arbitrary_text(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    try:
        load_catalog(str(path), env={})
    except CatalogError as exc:
        assert str(exc).startswith(f"{path}:")


@settings(
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
@given(
    st.dictionaries(
        st.sampled_from(["id", "name", "base_url", "model", "api_key_env", "free", "quota"]),
        st.one_of(st.none(), st.integers(), st.text(max_size=20), st.booleans()),
    )
)
def test_loader_never_crashes_on_arbitrary_entries(tmp_path: Path, entry: dict) -> None:
    import yaml

    path = write(tmp_path, yaml.safe_dump({"providers": [entry]}))
    try:
        load_catalog(str(path), env={})
    except CatalogError as exc:
        assert str(exc).startswith(f"{path}:")
