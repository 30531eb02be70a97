"""What the commands print: tables at 60/80/120 columns, JSON Lines, a round as it lands."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from monitor.catalog import Catalog, Endpoint, load_catalog
from monitor.cli import main
from monitor.cli.output import outcome_json, rank_table, round_hints, round_table, stats_json
from monitor.cli.round import show_round
from monitor.core.models import ErrorKind, ProbeKind
from monitor.ranking import compute
from monitor.scheduler import Outcome
from monitor.store import Store
from tests.helpers import json_lines, result

WIDTHS = [60, 80, 120]
IDS = [f"provider-number-{i:02}" for i in range(12)]
README = Path(__file__).resolve().parents[2] / "README.md"


def endpoint(endpoint_id: str) -> Endpoint:
    return Endpoint(
        id=endpoint_id, name=endpoint_id.title(), base_url="https://x.test/v1", model="m"
    )


def outcomes() -> list[Outcome]:
    landed = [
        Outcome(i, result=result(i, ttft=1094.4, message="" if n % 3 else "a long note " * 6))
        for n, i in enumerate(IDS[:-2])
    ]
    failed = result(IDS[-2], ok=False, error=ErrorKind.SERVER, message="HTTP 503: " + "x" * 90)
    skipped = Outcome(IDS[-1], skipped="no key: set SOME_VERY_LONG_PROVIDER_API_KEY_NAME")
    return [*landed, Outcome(IDS[-2], result=failed), skipped]


def render(renderable: object, width: int) -> list[str]:
    screen = Console(width=width, file=io.StringIO(), color_system=None)
    screen.print(renderable)
    return screen.file.getvalue().splitlines()  # type: ignore[attr-defined]


def assert_readable(lines: list[str], width: int, ids: list[str]) -> None:
    assert all(len(line) <= width for line in lines)
    text = "\n".join(lines)
    for endpoint_id in ids:  # every id whole, on one line, not folded
        assert endpoint_id in text, endpoint_id
    assert len(lines) <= 4 * len(ids) + 6, "\n".join(lines)  # no word-per-line wrapping


@pytest.mark.parametrize("width", WIDTHS)
def test_the_round_table_fits(width: int) -> None:
    lines = render(round_table(outcomes(), width), width)
    assert_readable(lines, width, IDS)
    assert "1,094" in "\n".join(lines)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_ranking_fits(width: int) -> None:
    now = datetime.now(UTC)
    probes = [
        result(i, ok=n % 5 != 4, at=now - timedelta(minutes=n), error=ErrorKind.SERVER)
        for i in IDS
        for n in range(8)
    ]
    from monitor.core.models import Sample

    samples = [
        Sample(p.endpoint_id, "chat", p.started_at, p.ok, p.error, p.status, p.message,
               p.ttft_ms, p.ttfa_ms, p.total_ms, p.tokens_per_s)
        for p in sorted(probes, key=lambda p: p.started_at)
    ]  # fmt: skip
    stats = compute([endpoint(i) for i in IDS], samples)
    lines = render(rank_table(stats, "1h", width), width)
    assert_readable(lines, width, IDS)
    text = "\n".join(lines)
    assert "TTFT 200 ms p50" in text  # the reason is shown, beside or under the table


@pytest.mark.parametrize("width", WIDTHS)
def test_the_catalogue_fits(
    width: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.delenv("OSS_MONITOR_PROVIDERS", raising=False)
    assert main(["providers"]) == 0
    lines = capsys.readouterr().out.splitlines()
    ids = [e.id for e in load_catalog(env={}).providers]
    assert_readable(lines, width, ids)
    assert len(lines) <= len(ids) + 8  # one line per endpoint


def test_probe_records_have_every_field_and_free_is_free() -> None:
    records = [json.loads(outcome_json(o)) for o in outcomes()]
    assert len({tuple(r) for r in records}) == 1  # the same keys, skipped or not
    skipped = records[-1]
    assert skipped["skipped"].startswith("no key") and skipped["error"] == "no_key"
    assert skipped["ttft_ms"] is None and skipped["started_at"] is None
    assert records[0]["skipped"] is None and records[0]["schema"] == 1
    assert records[0]["record"] == "probe"


def documented(record: str) -> set[str]:
    """The fields README's "JSON output" section lists for a record."""
    text = README.read_text()
    start = text.index(f"- `{record}` (")
    end = min(i for i in (text.find("\n- ", start + 1), text.find("\n\n", start)) if i > 0)
    fields = text[start:end].split("):", 1)[1]
    fields = re.sub(r"\([^)]*\)", "", fields)  # explanations in parentheses are not fields
    return set(re.findall(r"`([a-z_0-9]+)`", fields))


def test_readme_documents_every_field_of_every_record() -> None:
    probe = json.loads(outcome_json(outcomes()[0]))
    assert documented("probe") == set(probe)
    (stats,) = compute([endpoint("a")], [])
    assert documented("endpoint") == set(json.loads(stats_json(stats, "1h")))


def test_every_key_refused_says_what_to_check() -> None:
    refused = [
        Outcome(i, result=result(i, ok=False, error=ErrorKind.AUTH, message="HTTP 401"))
        for i in ("a", "b")
    ]
    (hint,) = round_hints(refused)
    assert hint.startswith("Every key was refused (HTTP 401/403 from a, b)")
    assert round_hints([*refused, Outcome("c", result=result("c"))]) == []


Runner = Callable[[Callable[[Outcome], None]], list[Outcome]]


def interrupted_after(landed: list[Outcome], check: Callable[[], None]) -> Runner:
    """A round that lands `landed` one by one (checking the output after each), then Ctrl-C."""

    def run(on_outcome: Callable[[Outcome], None]) -> list[Outcome]:
        for outcome in landed:
            on_outcome(outcome)
            check()
        raise KeyboardInterrupt

    return run


def test_json_lines_land_as_probes_land_and_survive_ctrl_c(
    capsys: pytest.CaptureFixture[str],
) -> None:
    seen: list[str] = []
    everything = outcomes()
    run = interrupted_after(everything[:2], lambda: seen.append(capsys.readouterr().out))
    done, interrupted = show_round([endpoint(i) for i in IDS], run, as_json=True)
    assert interrupted and [o.endpoint_id for o in done] == IDS[:2]
    assert [json_lines(out)[0]["id"] for out in seen] == IDS[:2]  # printed at once
    assert "2 probes of 12 finished before the interrupt" in capsys.readouterr().err


def test_a_terminal_gets_live_lines_then_the_table_of_what_finished() -> None:
    screen = Console(width=100, file=io.StringIO(), force_terminal=True, color_system=None)
    everything = outcomes()
    run = interrupted_after(everything[:3], lambda: None)
    done, interrupted = show_round([endpoint(i) for i in IDS], run, False, screen)
    out = screen.file.getvalue()  # type: ignore[attr-defined]
    assert interrupted and len(done) == 3
    assert "probing" in out  # the live lines were drawn
    assert "probe round" in out and "3 probes of 12 finished before the interrupt" in out


def test_prune_says_what_it_deletes_and_honours_dry_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    store = Store(url)
    old = datetime.now(UTC) - timedelta(days=40)
    store.add([result("a", at=old), result("a", at=old), result("b", at=old), result("a")])
    assert main(["prune", "--older-than", "4w", "--dry-run", "--db", url]) == 0
    out = capsys.readouterr().out
    assert "3 probes older than 4w" in out and "a: 2 probes" in out and "b: 1 probe," in out
    assert len(store.samples(old - timedelta(days=1))) == 4
    assert main(["prune", "--older-than", "4w", "--yes", "--db", url]) == 0
    assert "deleted 3 probes" in capsys.readouterr().out
    assert len(store.samples(old - timedelta(days=1))) == 1
    store.close()


def test_probe_kinds_in_records() -> None:
    outcome = Outcome("a", ProbeKind.TOOLS, result=result("a", kind=ProbeKind.TOOLS))
    assert json.loads(outcome_json(outcome))["kind"] == "tools"


def test_free_endpoints_read_free() -> None:
    from monitor.core import format as fmt

    catalog = Catalog.model_validate(
        {"providers": [
            {"id": "a", "name": "A", "base_url": "https://a/v1", "model": "m", "free": True,
             "price": {"input": 0, "output": 0}},
            {"id": "b", "name": "B", "base_url": "https://b/v1", "model": "m",
             "price": {"input": 0.15, "output": 0.6}},
        ]}
    )  # fmt: skip
    assert [fmt.price(e) for e in catalog.providers] == ["free", "0.15/0.6"]
