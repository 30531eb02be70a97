"""`deprecated` and `replaced_by`: a retired endpoint explains itself."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from monitor.catalog import CatalogError, Endpoint, default_catalog_path, load_catalog

ENTRY = """\
  - id: {id}
    name: {id}
    base_url: https://{id}.example/v1
    model: gpt-oss-120b
"""


def catalogue(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "providers.yaml"
    text = ENTRY.format(id="old") + extra + ENTRY.format(id="new")
    path.write_text("providers:\n" + text)
    return path


def test_a_retired_endpoint_says_when_and_what_instead(tmp_path: Path) -> None:
    path = catalogue(tmp_path, "    deprecated: 2026-09-05\n    replaced_by: new\n")
    old = load_catalog(str(path), env={}).get("old")
    assert old.deprecated == date(2026, 9, 5)
    assert old.retirement(today=date(2026, 11, 28)) == (
        "retired by the provider on 2026-09-05; use new instead"
    )
    assert old.retirement(today=date(2026, 9, 1)).startswith("retires by the provider on")


def test_no_sentence_without_a_date() -> None:
    endpoint = Endpoint(id="x", name="x", base_url="https://x.example/v1", model="m")
    assert endpoint.retirement() is None


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ("    replaced_by: nowhere\n", "replaced_by: 'nowhere' must name another endpoint id"),
        ("    replaced_by: old\n", "replaced_by: 'old' must name another endpoint id"),
        ("    deprecated: soon\n", "deprecated: Input should be a valid date"),
    ],
)
def test_bad_values_are_one_line_errors(tmp_path: Path, extra: str, needle: str) -> None:
    with pytest.raises(CatalogError, match=needle):
        load_catalog(str(catalogue(tmp_path, extra)), env={})


def test_shipped_nvidia_is_retired_and_disabled() -> None:
    catalog = load_catalog(str(default_catalog_path()), env={})
    nvidia = catalog.get("nvidia")
    assert not nvidia.enabled and nvidia.deprecated == date(2026, 9, 5)
    assert nvidia.replaced_by is not None and catalog.get(nvidia.replaced_by).enabled
