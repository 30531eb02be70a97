"""Quality canary: the bank, each checker, rotation, the statistics, the fleet's answers."""

from __future__ import annotations

import importlib
import json
import random
from pathlib import Path

import pytest

from monitor.quality import (
    Answer,
    Failure,
    Task,
    ToolCall,
    check,
    load_bank,
    payload,
    pick,
    read_bank,
)
from monitor.quality_stats import (
    accuracy_text,
    difference_low,
    reference,
    significantly_below,
    wilson,
)
from monitor.sim import bank as sim_bank

BENCH = Path(__file__).resolve().parents[1] / "bench"
BANK = {task.id: task for task in load_bank()}


def verdict(task_id: str, content: str = "", **extra: object) -> tuple[bool, Failure | None]:
    found = check(BANK[task_id], Answer.model_validate({"content": content, **extra}))
    return found.passed, found.failure


def called(name: str, arguments: str) -> Answer:
    return Answer(tool_calls=[ToolCall(name=name, arguments=arguments)], finish_reason="tool_calls")


# ---------------------------------------------------------------- the bank


def test_bank_has_every_family_and_fits_the_budget() -> None:
    families = [task.family for task in BANK.values()]
    assert len(families) >= 50
    assert {f: families.count(f) >= 10 for f in set(families)} == dict.fromkeys(
        ("arith", "string", "json", "tool", "twoturn"), True
    )
    for task in BANK.values():  # a terse answer, or a tool call
        assert task.tools or "Reply with only" in task.question, task.id


def test_bank_rejects_an_inconsistent_item(tmp_path: Path) -> None:
    question = {"role": "user", "content": "Compute 3 * 4. Reply with only the integer."}
    item = {"id": "arith-01", "family": "arith", "expected": "12", "messages": [question]}
    path = tmp_path / "bank.yaml"
    path.write_text(json.dumps({"tasks": [item]}))
    with pytest.raises(ValueError, match="expects"):
        read_bank(path)
    good = {**item, "expected": 12}
    path.write_text(json.dumps({"tasks": [good, {**good, "id": "arith-02"}]}))
    with pytest.raises(ValueError, match="share a question"):
        read_bank(path)


def test_payload_streams_at_low_effort_with_tools_only_for_tool_items() -> None:
    body = payload(BANK["tool-01"], max_tokens=256)
    assert body["stream"] is True and body["reasoning_effort"] == "low"
    assert body["max_tokens"] == 256
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather"]
    assert body["messages"][-1] == {"role": "user", "content": BANK["tool-01"].question}
    twoturn = payload(BANK["twoturn-01"])
    assert "tools" not in twoturn
    assert [m["role"] for m in twoturn["messages"]] == ["user", "assistant", "user"]


def test_rotation_visits_every_item_in_an_order_per_endpoint() -> None:
    bank = load_bank()
    first = [pick("alpha", i).id for i in range(len(bank))]
    assert sorted(first) == sorted(BANK)
    second_cycle = [pick("alpha", len(bank) + i).id for i in range(len(bank))]
    assert sorted(second_cycle) == sorted(BANK) and second_cycle != first
    assert [pick("beta", i).id for i in range(len(bank))] != first
    assert [pick("alpha", i).id for i in range(len(bank))] == first  # deterministic


# ---------------------------------------------------------------- the checkers


@pytest.mark.parametrize(
    ("task_id", "content"),
    [
        ("arith-01", "354"),
        ("arith-01", "The answer is **354**."),
        ("arith-01", "17*23 = 391, minus 45 is 346, plus 8:\n\n**Answer: 354**"),
        ("arith-01", "```\n354\n```"),
        ("arith-01", "\\boxed{354}"),
        ("arith-06", "1,020"),
        ("arith-12", "He has 99 apples now."),
        ("string-01", "The word backwards is: **tenalp**."),
        ("string-06", "`blue green red`."),
        ("twoturn-02", "kestrel"),
        ("twoturn-05", "The server is zephyr-3."),
        ("json-01", '{"city": "Lyon", "population": 522250}'),
        ("json-01", 'Sure:\n```json\n{"population": 522250, "city": "Lyon"}\n```'),
        ("json-08", 'Here: {"point": {"x": 4, "y": -7}}.'),
        ("arith-01", "<think>17*23 is 391</think>354"),
    ],
)
def test_right_answers_pass_whatever_the_wrapping(task_id: str, content: str) -> None:
    assert verdict(task_id, content, finish_reason="stop") == (True, None)


@pytest.mark.parametrize(
    ("task_id", "content", "failure"),
    [
        ("arith-01", "355", Failure.WRONG),
        ("arith-01", "**The answer is 355.**", Failure.WRONG),
        ("arith-01", "three hundred fifty-four", Failure.UNPARSABLE),
        ("string-01", "Tenalp", Failure.WRONG),  # the transformation is exact, case included
        ("string-01", "planet", Failure.WRONG),
        ("twoturn-05", "zephyr-2", Failure.WRONG),
        ("json-01", '{"city": "Lyon", "population": "522250"}', Failure.WRONG),
        ("json-02", '{"name": "Ada", "age": 36, "admin": 1}', Failure.WRONG),  # 1 is not true
        ("json-01", '{"city": "Lyon", "population": 522250, "extra": 1}', Failure.WRONG),
        ("json-01", "{city: Lyon, population: 522250}", Failure.UNPARSABLE),
        ("arith-01", "I'm sorry, but I can't help with that.", Failure.REFUSED),
        ("json-01", "I cannot provide that information.", Failure.REFUSED),
    ],
)
def test_wrong_answers_fail_with_their_kind(task_id: str, content: str, failure: Failure) -> None:
    assert verdict(task_id, content, finish_reason="stop") == (False, failure)


def test_truncated_is_its_own_failure_even_when_the_text_looks_right() -> None:
    assert verdict("arith-01", "35", finish_reason="length") == (False, Failure.TRUNCATED)
    assert verdict("arith-01", "", reasoning="17*23", finish_reason="length") == (
        False,
        Failure.TRUNCATED,
    )


def test_reasoning_only_and_empty_replies() -> None:
    assert verdict("arith-01", "  ", reasoning="17*23 = 391 ...", finish_reason="stop") == (
        False,
        Failure.REASONING_ONLY,
    )
    assert verdict("arith-01", "", finish_reason="stop") == (False, Failure.UNPARSABLE)


def test_leaked_reasoning_markup_fails_even_with_the_right_value() -> None:
    analysis = "<|channel|>analysis<|message|>compute<|end|>"
    leaked = f"{analysis}<|start|>assistant<|channel|>final<|message|>354"
    assert verdict("arith-01", leaked, finish_reason="stop") == (False, Failure.LEAKED)


LISBON = '{"city": "Lisbon", "unit": "celsius"}'


@pytest.mark.parametrize(
    ("task_id", "answer", "failure"),
    [
        ("tool-01", called("get_weather", LISBON), None),
        ("tool-01", called("get_weather", '{"unit":"celsius","city":"Lisbon"}'), None),
        ("tool-01", called("get_weather", LISBON.replace("celsius", "kelvin")), Failure.TOOL_ARGS),
        ("tool-03", called("set_alarm", '{"hour": "7", "minute": 30, "label": "gym"}'),
         Failure.TOOL_ARGS),
        ("tool-01", called("get_weather", '{"city": "Lisbon", "unit": "cel'), Failure.UNPARSABLE),
        ("tool-01", called("get_weather", '["Lisbon", "celsius"]'), Failure.UNPARSABLE),
        ("tool-01", called("book_table", LISBON), Failure.WRONG),
        ("tool-01", Answer(content="It is sunny in Lisbon."), Failure.WRONG),
        ("tool-01", Answer(content="I can't help with weather."), Failure.REFUSED),
    ],
)  # fmt: skip
def test_tool_calls(task_id: str, answer: Answer, failure: Failure | None) -> None:
    found = check(BANK[task_id], answer)
    assert (found.passed, found.failure) == (failure is None, failure)


def test_verdict_shows_expected_and_a_bounded_clean_received() -> None:
    found = check(BANK["tool-03"], called("set_alarm", '{"hour": 8}'))
    assert found.expected == 'set_alarm({"hour": 7, "minute": 30, "label": "gym"})'
    assert found.received == 'set_alarm({"hour": 8})'
    hostile = "35\x1b[2J\x00\u202e5" + "9" * 1000
    found = check(BANK["arith-01"], Answer(content=hostile, finish_reason="stop"))
    assert len(found.received) <= 200 and found.received.startswith("35 [2J 5")
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in found.received)
    nested = "[" * 100_000  # json.loads raises RecursionError on this, not ValueError
    assert verdict("json-01", nested) == (False, Failure.UNPARSABLE)
    assert not check(BANK["tool-01"], called("get_weather", nested)).passed
    only = check(BANK["arith-01"], Answer(reasoning="let me\nthink", finish_reason="stop"))
    assert only.received == "(reasoning only) let me think"


# ---------------------------------------------------------------- statistics


@pytest.mark.parametrize(
    ("passed", "n", "low", "high"),
    [  # Newcombe (1998), "Two-sided confidence intervals for the single proportion", table I
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_known_values(passed: int, n: int, low: float, high: float) -> None:
    assert wilson(passed, n) == pytest.approx((low, high), abs=5e-5)


def test_interval_text_and_difference_bound() -> None:
    assert accuracy_text(62, 64) == "97% of 64, 95% CI 89-99"
    assert accuracy_text(0, 0) == "no samples"
    assert wilson(0, 0) == (0.0, 1.0)
    # Newcombe (1998), "Interval estimation for the difference between independent
    # proportions", example 56/70 - 48/80: method 10 gives 0.0524 to 0.3339.
    assert difference_low(56, 70, 48, 80) == pytest.approx(0.0524, abs=5e-5)
    assert -difference_low(48, 80, 56, 70) == pytest.approx(0.3339, abs=5e-5)


def test_few_samples_never_punish_many_do() -> None:
    assert not significantly_below(0, 5, 5, 5)  # 0 of 5 vs 5 of 5: too few to say
    assert not significantly_below(12, 20, 5, 5)  # the best has too few
    assert significantly_below(12, 20, 20, 20)
    assert significantly_below(60, 100, 97, 100)
    assert not significantly_below(95, 100, 99, 100)
    assert not significantly_below(950, 1000, 995, 1000)  # a sure but small gap is no demotion
    assert not significantly_below(26, 30, 30, 30)  # an unlucky good endpoint


def test_reference_prefers_a_sure_best_over_a_lucky_one() -> None:
    assert reference([(5, 5), (97, 100), (60, 100)]) == (97, 100)
    assert reference([(3, 3)]) is None


# ---------------------------------------------------------------- the simulated fleet


def to_answer(reply: sim_bank.Reply) -> Answer:
    calls = []
    if reply.tool_call:
        calls = [ToolCall(name=reply.tool_call[0], arguments=reply.tool_call[1])]
    return Answer(
        content=reply.content,
        reasoning=reply.reasoning,
        tool_calls=calls,
        finish_reason=reply.finish_reason,
    )


def ask(task: Task, rng: random.Random, **flaws: float) -> Answer:
    messages = [m.model_dump() for m in task.messages]
    reply = sim_bank.reply(messages, rng, sim_bank.Flaws(**flaws))
    assert reply is not None, task.id
    return to_answer(reply)


def test_the_fleet_answers_every_item_right_by_default() -> None:
    rng = random.Random(7)
    for task in BANK.values():
        for _ in range(4):  # every phrasing the fleet uses
            assert check(task, ask(task, rng)).passed, task.id


@pytest.mark.parametrize(
    ("flaw", "failures"),
    [
        ("wrong", {Failure.WRONG, Failure.TOOL_ARGS}),
        ("truncate", {Failure.TRUNCATED}),
        ("leak", {Failure.LEAKED}),
    ],
)
def test_the_fleet_flaws_fail_every_item(flaw: str, failures: set[Failure]) -> None:
    rng = random.Random(7)
    for task in BANK.values():
        assert check(task, ask(task, rng, **{flaw: 1.0})).failure in failures, task.id


def test_the_fleet_mangles_only_tool_arguments_and_at_its_rate() -> None:
    rng = random.Random(7)
    assert check(BANK["tool-05"], ask(BANK["tool-05"], rng, mangle_tools=1.0)).failure == (
        Failure.UNPARSABLE
    )
    assert check(BANK["json-05"], ask(BANK["json-05"], rng, mangle_tools=1.0)).passed
    passed = [
        check(BANK["arith-03"], ask(BANK["arith-03"], rng, wrong=0.4)).passed for _ in range(500)
    ]
    assert 0.5 < sum(passed) / len(passed) < 0.7


def test_the_fleet_ignores_requests_outside_the_bank() -> None:
    assert sim_bank.reply([{"role": "user", "content": "Say hi"}], random.Random(1)) is None
    assert sim_bank.reply([], random.Random(1)) is None
    with pytest.raises(ValueError, match="more than 1"):
        sim_bank.Flaws(wrong=0.7, leak=0.5)


# ---------------------------------------------------------------- the bench


def test_bench_runs_at_a_tiny_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCH))  # the script imports its sibling `common`
    figures = importlib.import_module("quality_eval").run(5, 30, seed=1)
    assert figures["runs"] == 5 and 0 <= figures["false_flag_rate"] <= 1
