"""The span-based JSONC editor: edits touch only their value, everything else stays."""

from __future__ import annotations

import pytest

from monitor.export.jsonc import JsoncError, parse, set_value


def test_parse_reads_comments_and_trailing_commas() -> None:
    node = parse('// top\n{"a": [1, 2,], /* b */ "b": {"c": null,},}\n')
    assert node is not None and node.value == {"a": [1, 2], "b": {"c": None}}


def test_blank_or_comment_only_text_has_no_root() -> None:
    assert parse("") is None
    assert parse("  // nothing yet\n") is None


@pytest.mark.parametrize(
    ("text", "line", "why"),
    [
        ('{\n"a": 1\n"b": 2\n}', 3, "expected ',' or '}'"),
        ('{\n  "a": [1, 2\n}', 3, "expected ',' or ']'"),
        ('{"a": "unterminated}', 1, "string is not closed"),
        ("{\n/* open", 2, "comment is never closed"),
        ("[1]", 1, "top level must be a JSON object"),
        ('{"a": 1}\n{"b": 2}', 2, "after the top-level object"),
        ('{"a": 01}', 1, "expected ',' or '}'"),
    ],
)
def test_errors_name_the_line(text: str, line: int, why: str) -> None:
    with pytest.raises(JsoncError) as info:
        parse(text)
    assert info.value.line == line and why in info.value.why


def test_strict_mode_refuses_comments_and_trailing_commas() -> None:
    with pytest.raises(JsoncError, match="comments are not allowed"):
        parse('{"a": 1 // no\n}', strict=True)
    with pytest.raises(JsoncError, match="trailing comma"):
        parse('{"a": [1,]}', strict=True)


def test_replacing_a_value_keeps_the_same_line_comment() -> None:
    text = '{\n  "model": "a", // mine\n  "x": 1\n}\n'
    assert set_value(text, ["model"], "b") == '{\n  "model": "b", // mine\n  "x": 1\n}\n'


def test_equal_value_leaves_text_identical_even_if_formatted_differently() -> None:
    text = '{ "p": {"a" :1,"b":[ 1 ,2 ]} }'
    assert set_value(text, ["p"], {"b": [1, 2], "a": 1}) == text


def test_appending_keeps_trailing_comma_style_and_comment() -> None:
    with_comma = '{\n  "a": 1, // one\n}\n'
    assert set_value(with_comma, ["b"], 2) == '{\n  "a": 1, // one\n  "b": 2,\n}\n'
    without = '{\n  "a": 1 // one\n}\n'
    assert set_value(without, ["b"], 2) == '{\n  "a": 1, // one\n  "b": 2\n}\n'


def test_missing_parents_are_created_with_the_file_indent() -> None:
    text = '{\n\t"a": 1\n}\n'
    assert set_value(text, ["p", "q"], {"r": 1}) == (
        '{\n\t"a": 1,\n\t"p": {\n\t\t"q": {\n\t\t\t"r": 1\n\t\t}\n\t}\n}\n'
    )


def test_first_inserts_at_the_top_and_keep_existing_keeps() -> None:
    text = '{\n  "a": 1\n}\n'
    assert set_value(text, ["$schema"], "s", first=True) == '{\n  "$schema": "s",\n  "a": 1\n}\n'
    assert set_value(text, ["a"], 2, keep_existing=True) == text


def test_inline_and_empty_objects() -> None:
    assert set_value('{"a": 1}', ["b"], 2) == '{"a": 1, "b": 2}'
    assert set_value('{"a": {}}', ["a", "b"], 2) == '{"a": {\n  "b": 2\n}}'
    assert set_value("{\n  // soon\n}\n", ["b"], 2) == '{\n  // soon\n  "b": 2\n}\n'


def test_a_non_object_on_the_path_is_an_error() -> None:
    with pytest.raises(JsoncError, match="`provider` must be an object"):
        set_value('{\n  "provider": "x"\n}', ["provider", "ours"], {})


def test_last_duplicate_key_wins_as_in_javascript() -> None:
    text = '{"m": "a", "m": "b"}'
    assert set_value(text, ["m"], "c") == '{"m": "a", "m": "c"}'
