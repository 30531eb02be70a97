"""Class: no user file is ever damaged. Every export goes through the real CLI: all bytes
written or none, the target re-checked right before the rename, every edit re-parsed, line
endings and ownership kept, anything but a regular file refused. On failure: exit 2, the
original byte for byte as it was."""

from __future__ import annotations

import errno
import json
import os
import re
import resource
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import monitor.export.files as files
import monitor.export.jsonc as jsonc
from monitor.cli import main

CATALOGUE = """\
providers:
  - id: groq
    name: Groq
    base_url: https://api.groq.com/openai/v1
    model: openai/gpt-oss-120b
    api_key_env: GROQ_API_KEY
"""
Export = Callable[..., tuple[int, str]]


@pytest.fixture
def export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Export:
    """`oss-monitor export TOOL --endpoint groq --force --config PATH`; (exit code, output)."""
    (tmp_path / "providers.yaml").write_text(CATALOGUE)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("GROQ_API_KEY", "gsk_test_1234567890abcdef")

    def run(tool: str, config: Path) -> tuple[int, str]:
        code = main(["export", tool, "--endpoint", "groq", "--force", "--config", str(config),
                     "--providers", str(tmp_path / "providers.yaml"),
                     "--db", f"sqlite:///{tmp_path / 'p.db'}"])  # fmt: skip
        out, err = capsys.readouterr()
        return code, out + err

    return run


def opencode_file(folder: Path, padding: int = 0) -> tuple[Path, bytes]:
    path = folder / "config" / "opencode.json"
    path.parent.mkdir(exist_ok=True)
    original = json.dumps({"theme": "x", "notes": "n" * padding}, indent=2).encode() + b"\n"
    path.write_bytes(original)
    return path, original


def siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name != path.name)


# ---------------------------------------------------------------- short writes


def test_short_writes_are_completed(
    export: Export, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = opencode_file(tmp_path, padding=200_000)
    real = os.write
    monkeypatch.setattr(files.os, "write", lambda fd, data: real(fd, bytes(data)[:1000]))
    code, out = export("opencode", path)
    assert code == 0 and "Wrote" in out, out
    assert json.loads(path.read_text())["provider"]["oss-monitor"]["name"] == "oss-monitor: Groq"


@pytest.mark.parametrize("fail_on", ["backup", "config"])
def test_a_full_disk_leaves_the_original_untouched(
    fail_on: str, export: Export, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, original = opencode_file(tmp_path, padding=100_000)
    real = os.write

    def write(fd: int, data: bytes) -> int:
        target = os.readlink(f"/proc/self/fd/{fd}")
        if (".oss-monitor.bak" in target) == (fail_on == "backup"):
            written = real(fd, bytes(data)[:65536])  # part of it fits, then the disk is full
            if written < len(data):
                return written
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data)

    monkeypatch.setattr(files.os, "write", write)
    code, out = export("opencode", path)
    assert code == 2 and "No space left on device" in out and "Wrote" not in out
    assert path.read_bytes() == original
    left = siblings(path)
    assert not [n for n in left if n.endswith(".tmp")]
    for backup in left:  # a backup that exists is whole
        assert (path.parent / backup).read_bytes() == original, backup


def test_a_file_size_limit_through_the_real_process(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes write() return short, then fail with EFBIG (Python ignores SIGXFSZ)."""
    path, original = opencode_file(tmp_path, padding=300_000)
    (tmp_path / "providers.yaml").write_text(CATALOGUE)
    limit = 200_000

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**os.environ, "HOME": str(tmp_path / "home"), "GROQ_API_KEY": "gsk_test_12345678"}
    env.pop("XDG_DATA_HOME", None)
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "export", "opencode", "--endpoint", "groq", "--force",
         "--config", str(path), "--providers", str(tmp_path / "providers.yaml"),
         "--db", f"sqlite:///{tmp_path / 'p.db'}"],
        env=env, preexec_fn=limited, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "File too large" in done.stderr and "Wrote" not in done.stdout
    assert path.read_bytes() == original
    assert not [n for n in siblings(path) if n.endswith(".tmp")]


# ---------------------------------------------------------------- a concurrent editor


def editor(path: Path, change: Callable[[Path], None]) -> Callable[[int, bytes], None]:
    """_write_all that lets an 'editor' save the target just after our temp file is written."""
    real = files._write_all

    def write_all(fd: int, data: bytes) -> None:
        real(fd, data)
        if ".oss-monitor.bak" not in os.readlink(f"/proc/self/fd/{fd}"):
            change(path)

    return write_all


def same_size_same_time(path: Path) -> None:
    info = path.stat()
    path.write_bytes(path.read_bytes().replace(b'"x"', b'"y"'))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))  # within one clock tick


def replaced(path: Path) -> None:
    other = path.with_name("editor-save.tmp~")
    other.write_bytes(path.read_bytes())
    os.replace(other, path)  # same bytes, a new inode: an editor's own atomic save


EDITS: dict[str, Callable[[Path], None]] = {
    "appended": lambda p: p.write_text(p.read_text() + " "),
    "same size and mtime": same_size_same_time,
    "replaced by rename": replaced,
    "deleted": lambda p: p.unlink(),
}


@pytest.mark.parametrize("name", list(EDITS))
def test_an_editor_saving_meanwhile_wins(
    name: str, export: Export, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = opencode_file(tmp_path)
    saved: list[bytes | None] = []

    def change(target: Path) -> None:
        EDITS[name](target)
        saved.append(target.read_bytes() if target.exists() else None)

    monkeypatch.setattr(files, "_write_all", editor(path, change))
    code, out = export("opencode", path)
    assert code == 2 and "changed while we were writing it" in out, out
    assert (path.read_bytes() if path.exists() else None) == saved[0]
    assert not [n for n in siblings(path) if n.endswith(".tmp")]


def test_a_file_created_meanwhile_is_not_replaced(
    export: Export, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "opencode.json"
    monkeypatch.setattr(files, "_write_all", editor(path, lambda p: p.write_text("{}\n")))
    code, out = export("opencode", path)
    assert code == 2 and "changed while we were writing it" in out
    assert path.read_text() == "{}\n"


# ---------------------------------------------------------------- every edit re-parsed


def jsonc_to_json(text: str) -> object:
    """An independent JSONC reader (comments, trailing commas), to check what a tool sees."""
    out, i = [], 0
    while i < len(text):
        if text[i] == '"':
            end = re.compile(r'"(?:[^"\\]|\\.)*"').match(text, i)
            assert end is not None
            out.append(end.group())
            i = end.end()
        elif text.startswith("//", i):
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
        elif text.startswith("/*", i):
            i = text.index("*/", i + 2) + 2
        else:
            out.append(text[i])
            i += 1
    return json.loads(re.sub(r",(\s*[}\]])", r"\1", "".join(out)))


COMMENTS = [
    '{\n  "theme": "x" /*/ note */\n}\n',
    '{\n  "theme": "x", /*/ spans\n  two lines */\n}\n',
    '{\n  "theme": "x" /*/*/\n}\n',
    '{\n  "theme": "x" /**/\n}\n',
    '{\n  "theme": "/* not a comment */ // nor this"\n}\n',
    '{\n  "theme": "x" // trailing /* comment\n}\n',
    '{"theme": "x" /*/ inline */}',
]


@pytest.mark.parametrize("text", COMMENTS)
def test_jsonc_edits_land_where_the_tool_reads_them(
    text: str, export: Export, tmp_path: Path
) -> None:
    path = tmp_path / "opencode.json"
    path.write_text(text)
    code, out = export("opencode", path)
    assert code == 0, out
    seen = jsonc_to_json(path.read_text())
    assert isinstance(seen, dict)
    assert seen["provider"]["oss-monitor"]["options"]["baseURL"].startswith("https://api.groq")
    assert (
        seen["model"] == "oss-monitor/openai/gpt-oss-120b"
        and seen["theme"]
        == (
            jsonc_to_json(text)["theme"]  # type: ignore[index]
        )
    )


def test_an_edit_that_did_not_land_is_refused(
    export: Export, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, original = opencode_file(tmp_path)
    real = jsonc.set_value
    # A splice gone wrong: the new member ends up inside a comment.
    monkeypatch.setattr(
        jsonc,
        "set_value",
        lambda text, *a, **k: (
            text.replace("}", "/*" + real(text, *a, **k) + "*/}", 1)
            if '"theme"' in text
            else real(text, *a, **k)
        ),
    )
    code, out = export("opencode", path)
    assert code == 2 and "did not land where the tool would read it" in out
    assert path.read_bytes() == original


# ---------------------------------------------------------------- formats kept


CRLF_FILES = {
    "opencode": ("opencode.json", '{\r\n  "theme": "x"\r\n}\r\n'),
    "continue": ("config.yaml", "name: c\r\nversion: 1.0.0\r\nschema: v1\r\nmodels:\r\n"
                                "  - name: other\r\n    provider: openai\r\n    model: m\r\n"),
    "codex": ("config.toml", 'model = "m"\r\n\r\n[model_providers.other]\r\nname = "o"\r\n'),
    "aider": (".aider.conf.yml", "# mine\r\nmodel: other\r\n"),
}  # fmt: skip


@pytest.mark.parametrize("tool", list(CRLF_FILES))
def test_crlf_files_keep_crlf(tool: str, export: Export, tmp_path: Path) -> None:
    name, text = CRLF_FILES[tool]
    path = tmp_path / name
    path.write_bytes(text.encode())
    code, out = export(tool, path)
    assert code == 0, out
    after = path.read_bytes()
    assert after.count(b"\n") > text.count("\n") and after.count(b"\n") == after.count(b"\r\n")


TOML_FORMS = {
    "inline table": 'model_providers = { other = { name = "o" } }\nmodel = "m"\n',
    "empty inline table": "model_providers = {}\n",
    "dotted keys at the top": 'model_providers.other.name = "o"\nmodel = "m"\n\n[p]\nq = 1\n',
    "dotted keys under a header": '[model_providers]\nother.name = "o"\n\n[z]\nw = 1\n',
    "our table already there": '[model_providers.oss-monitor]\nname = "old"\n',
}


@pytest.mark.parametrize("name", list(TOML_FORMS))
def test_valid_toml_forms_are_accepted(name: str, export: Export, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(TOML_FORMS[name])
    before = tomllib.loads(TOML_FORMS[name])
    code, out = export("codex", path)
    assert code == 0, out
    after = tomllib.loads(path.read_text())  # Python's own parser, not the one we edit with
    assert after["model"] == "openai/gpt-oss-120b" and after["model_provider"] == "oss-monitor"
    assert after["model_providers"]["oss-monitor"]["base_url"].startswith("https://api.groq")
    for key, value in before.items():  # everything else is as it was
        if key == "model_providers":
            for other, table in value.items():
                assert other == "oss-monitor" or after[key][other] == table
        elif key != "model":
            assert after[key] == value


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_ownership_is_kept_when_run_as_root(export: Export, tmp_path: Path) -> None:
    path, _ = opencode_file(tmp_path)
    os.chown(path, 65534, 65534)
    code, out = export("opencode", path)
    assert code == 0, out
    for written in [path, *(path.parent / n for n in siblings(path) if ".oss-monitor.bak" in n)]:
        assert (written.stat().st_uid, written.stat().st_gid) == (65534, 65534), written


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "opencode.json"
    os.mkfifo(path)
    yield path


@pytest.mark.parametrize("kind", ["fifo", "/dev/null", "/dev/zero"])
def test_anything_but_a_regular_file_is_refused(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    config = request.getfixturevalue("fifo") if kind == "fifo" else Path(kind)
    (tmp_path / "providers.yaml").write_text(CATALOGUE)
    env = {**os.environ, "HOME": str(tmp_path / "home"), "GROQ_API_KEY": "gsk_test_12345678"}
    done = subprocess.run(  # a child process: a blocking open() would hang only it
        [sys.executable, "-m", "monitor", "export", "opencode", "--endpoint", "groq", "--force",
         "--config", str(config), "--providers", str(tmp_path / "providers.yaml"),
         "--db", f"sqlite:///{tmp_path / 'p.db'}"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "is not a regular file" in done.stderr, done.stderr


def test_a_large_yaml_keeps_its_style(export: Export, tmp_path: Path) -> None:
    """300 KB here (the 1 MB timing is bench material): the style is read off the text, so
    only our entry is added, nothing re-indented."""
    lines = ["name: c", "version: 1.0.0", "schema: v1", "models:"]
    for i in range(3000):
        lines += [f"    - name: m{i}", "      provider: openai", f"      model: x{i}"]
    path = tmp_path / "config.yaml"
    path.write_text("\n".join(lines) + "\n")
    code, out = export("continue", path)
    assert code == 0, out
    after = path.read_text()
    assert after.startswith("\n".join(lines) + "\n")  # every line of it kept, in place
    assert "    - name: gpt-oss-120b (oss-monitor)" in after
