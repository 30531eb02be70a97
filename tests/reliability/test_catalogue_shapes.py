"""Class: a providers.yaml that would take the loader down (an alias bomb, thousands of
nesting levels) is refused quickly with `file:line:`, through the real CLI in a child
process (a hang or a stack overflow would take only it down); legal anchors still work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.catalog import load_catalog

LAUGHS = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)
# The classic "billion laughs": 9**9 values from a few hundred bytes.
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + LAUGHS
SHAPES = {
    "the billion laughs alias bomb": (BOMB, ":6: the YAML stands for more than 100000 values"),
    "a bomb inside an endpoint": (
        "defaults: &d [" + ", ".join(['"x"'] * 400) + "]\nproviders:\n  - id: x\n"
        "    notes: [" + ", ".join(["*d"] * 400) + "]\n",
        ":4: the YAML stands for more than 100000 values"),
    # libyaml refuses this one itself, before any event: its message, our file:line.
    "20,000 levels of flow nesting": ("providers: " + "[" * 20_000 + "]" * 20_000,
                                      ":1: not valid YAML (exceeded maximum nesting depth)"),
    "20,000 levels of mappings": ("a: " + "{b: " * 20_000 + "1" + "}" * 20_000,
                                  ":1: the YAML is nested more than 32 levels deep"),
    "700 levels of block nesting (half a megabyte)": (
        "providers:\n" + "".join("  " * i + "- \n" for i in range(1, 700)),
        ":33: the YAML is nested more than 32 levels deep"),
    "100 levels of flow nesting": ("providers: " + "[" * 100 + "]" * 100,
                                   ":1: the YAML is nested more than 32 levels deep"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(SHAPES))
def test_hostile_shapes_are_refused_with_file_and_line(name: str, tmp_path: Path) -> None:
    text, needle = SHAPES[name]
    path = tmp_path / "providers.yaml"
    path.write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "providers", "--providers", str(path)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONFAULTHANDLER": "1"},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"{path}{needle}" in done.stderr and "Traceback" not in done.stderr


def test_legal_anchors_and_merge_keys_still_load(tmp_path: Path) -> None:
    path = tmp_path / "providers.yaml"
    path.write_text(
        "common: &common {model: openai/gpt-oss-120b, free: true}\n"
        "providers:\n"
        "  - {<<: *common, id: a, name: A, base_url: 'https://a.test/v1'}\n"
        "  - {<<: *common, id: b, name: B, base_url: 'https://b.test/v1'}\n"
    )
    path.write_text(path.read_text().replace("common: &common", "x-common: &common"))
    with pytest.raises(Exception, match="x-common"):  # unknown top-level keys stay refused
        load_catalog(str(path), env={})
    path.write_text(
        "providers:\n"
        "  - &a {id: a, name: A, base_url: 'https://a.test/v1', model: m, free: true}\n"
        "  - {<<: *a, id: b, name: B}\n"
    )
    catalog = load_catalog(str(path), env={})
    assert [(e.id, e.model, e.free) for e in catalog.providers] == [
        ("a", "m", True),
        ("b", "m", True),
    ]
