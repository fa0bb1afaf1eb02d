"""requirements.txt (pip) and environment.yml (conda) must list the same pinned packages."""

from __future__ import annotations

import re
from pathlib import Path

PIN = re.compile(r"^\s*-?\s*([A-Za-z0-9_.\-]+)==([^\s#]+)")


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def test_environment_yml_matches_requirements(repo: Path) -> None:
    pip_pins = pins(repo / "requirements.txt")
    conda_pins = pins(repo / "environment.yml")
    assert {"torch", "nbgrader", "papermill", "scikit-learn", "jupyterlab"} <= pip_pins.keys()
    assert pip_pins == conda_pins


def test_torch_is_pinned_to_the_cpu_wheel_version(repo: Path) -> None:
    assert pins(repo / "requirements.txt")["torch"] == "2.13.0"
