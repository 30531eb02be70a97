"""One way to say a number, a duration, a price or a state, and one duration grammar."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest

from monitor.cli.args import PROBING_DEFAULTS
from monitor.core import format as fmt
from monitor.core.models import ProbeSettings, State
from monitor.scheduler import ScheduleSettings


def test_numbers() -> None:
    assert fmt.ms(1094.4) == "1,094 ms" and fmt.ms(None) == "-"
    assert fmt.number(12345.6) == "12,346"
    assert [fmt.plural(n, "probe") for n in (0, 1, 2, 1200)] == [
        "0 probes", "1 probe", "2 probes", "1,200 probes",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("seconds", "label"), [(45, "45s"), (60, "1m"), (90, "1.5m"), (1728, "29m"), (3600, "1h"),
                           (86400, "1d"), (604800, "1w"), (5.0, "5s"), (0.5, "0.5s")],
)  # fmt: skip
def test_durations_read_in_their_largest_unit(seconds: float, label: str) -> None:
    assert fmt.duration(seconds) == label


def test_ages_round_down() -> None:
    assert [fmt.age(s) for s in (-3, 59, 61, 7300, 90000)] == ["0s", "59s", "1m", "2h", "1d"]


@pytest.mark.parametrize(
    ("text", "bare", "expected"),
    [("90s", False, 90), ("30m", False, 1800), ("2w", False, 1209600), ("1.5", True, 1.5),
     ("60", True, 60), ("2m", True, 120)],
)  # fmt: skip
def test_one_duration_grammar(text: str, bare: bool, expected: float) -> None:
    assert fmt.parse_duration(text, bare_seconds=bare) == timedelta(seconds=expected)


@pytest.mark.parametrize("text", ["", "0s", "-1h", "1.5h", "soon", "30", "1 fortnight"])
def test_nonsense_durations_get_the_same_words(text: str) -> None:
    with pytest.raises(ValueError, match=f"^{text!r} is not a duration; use a number and a unit"):
        fmt.parse_duration(text)


def test_states_have_one_word() -> None:
    assert fmt.state(State.NO_KEY) == "no key" and fmt.state(State.RATE_LIMITED) == "limited"
    assert all("_" not in fmt.state(s) and "-" not in fmt.state(s) for s in State)


def test_help_defaults_are_the_real_ones() -> None:
    schedule, probe = ScheduleSettings(), ProbeSettings()
    assert {
        "interval": schedule.interval_s,
        "budget": schedule.budget_fraction,
        "concurrency": schedule.concurrency,
        "timeout": probe.total_s,
    } == PROBING_DEFAULTS


@pytest.fixture
def quiet_router_log() -> Iterator[None]:
    yield
    log = logging.getLogger("oss-monitor")
    log.handlers.clear()
    log.propagate = True


def test_the_router_logs_its_own_lines_only(
    quiet_router_log: None, capfd: pytest.CaptureFixture[str]
) -> None:
    from monitor.cli.commands.router import own_log_lines

    own_log_lines()
    logging.getLogger("httpx").info('HTTP Request: POST https://x "HTTP/1.1 200 OK"')
    logging.getLogger("oss-monitor.router").info("groq ok, TTFT 1,094 ms")
    err = capfd.readouterr().err
    assert "groq ok, TTFT 1,094 ms" in err and "HTTP Request" not in err
