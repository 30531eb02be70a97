"""Library errors in our words: what a YAML parser or pydantic complains of, said so a person
who edits providers.yaml or a fleet profile knows what to change.

A problem we do not recognise keeps the library's words rather than a vaguer guess.
"""

from __future__ import annotations

from typing import Any

import yaml

# Substrings of PyYAML's problem text, and what they mean to someone editing the file.
YAML_PROBLEMS = (
    ("mapping values are not allowed", "a `key: value` where none can be; check the indentation, "
     "or put a value holding ': ' in quotes"),
    ("cannot start any token", "a tab or a stray character; indent with spaces only"),
    ("found a tab character", "a tab in the indentation; indent with spaces only"),  # libyaml
    ("could not find expected ':'", "a line that is not `key: value`; check the indentation"),
    ("expected ',' or ']'", "a [list] that is never closed; add the ']'"),
    ("expected ',' or '}'", "a {mapping} that is never closed; add the '}'"),
    ("did not find expected key", "a line out of step with the lines above; check indentation"),
    ("expected <block end>", "a line out of step with the lines above; check indentation"),
    ("did not find expected '-'", "a list item without its '- '; check the indentation"),
    ("found unexpected end of stream", "the file ends inside a quoted text; close the quote"),
    ("found unknown escape character", "a backslash escape YAML does not know; use single quotes"),
    ("could not determine a constructor", "a `!tag`, which a catalogue may not use; remove it"),
    ("found undefined alias", "a `*name` alias with no `&name` anchor; write the value out"),
    ("found duplicate anchor", "the same `&name` anchor twice; rename one"),
)  # fmt: skip

# pydantic error types, and how to say them about one key.
FIELD_PROBLEMS = {
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list (`- item` lines or [a, b])",
    "dict_type": "must be a mapping (`key: value` lines or {key: value})",
    "model_type": "must be a mapping (`key: value` lines or {key: value})",
    "model_attributes_type": "must be a mapping (`key: value` lines or {key: value})",
    "missing": "required key is missing",
    "extra_forbidden": "unknown key (check its spelling against providers.yaml's header)",
    "string_too_short": "must not be empty",
    "too_short": "must not be empty",
    "string_pattern_mismatch": "must be lowercase a-z, 0-9 and '-', not starting with '-'",
}


def yaml_problem(exc: yaml.YAMLError) -> tuple[int, str]:
    """The 1-based line and what is wrong there, for a file PyYAML could not read."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return 1, "not valid YAML; check the indentation, colons and quotes"
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 1
    said = f"{exc.context or ''} {exc.problem or ''}"
    words = next((ours for theirs, ours in YAML_PROBLEMS if theirs in said), None)
    if words is None:
        words = f"not valid YAML ({exc.problem or exc.context})"
    if exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line:
        words += f" (it starts at line {exc.context_mark.line + 1})"
    return line, words


def field_problem(error: Any) -> str:
    """One pydantic error about one key, in words (its own message for our validators)."""
    kind, context = error["type"], error.get("ctx") or {}
    if kind in FIELD_PROBLEMS:
        return FIELD_PROBLEMS[kind]
    bounds = {
        "greater_than": "more than {gt}",
        "greater_than_equal": "at least {ge}",
        "less_than": "less than {lt}",
        "less_than_equal": "at most {le}",
        "literal_error": "one of {expected}",
        "enum": "one of {expected}",
    }
    if kind in bounds:
        return "must be " + bounds[kind].format(**context)
    return str(error["msg"]).removeprefix("Value error, ")
