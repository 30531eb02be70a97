"""Where the data files the package ships (fleet profiles, task bank, snapshots) are found."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def data_path(name: str) -> Path:
    """A wheel carries `data/` inside the package; an editable install reads the repo's `data/`."""
    packaged = Path(str(resources.files("monitor") / "data" / name))
    if packaged.exists():
        return packaged
    return Path(__file__).resolve().parents[2] / "data" / name
