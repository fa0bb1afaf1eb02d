"""Committed notebooks are clean: no outputs, the papermill parameters cell first, assignments in sync."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from grader.assignments import notebooks_in
from grader.cli import main

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_DIRS = ("lectures", "solutions", "assignments")
PARAMETERS = {"PROFILE": "full", "DEVICE": "auto"}  # committed defaults; CI injects PROFILE="smoke"


def discover() -> list[Path]:
    return notebooks_in(REPO, NOTEBOOK_DIRS)


NOTEBOOKS = pytest.mark.parametrize("notebook", discover(), ids=lambda p: p.relative_to(REPO).as_posix())


def load(notebook: Path) -> dict:
    return json.loads(notebook.read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else text


@NOTEBOOKS
def test_no_outputs_and_no_execution_counts(notebook: Path) -> None:
    dirty = [
        index
        for index, cell in enumerate(load(notebook)["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, f"cells {dirty} have outputs or execution counts; clear them before committing"


@NOTEBOOKS
def test_first_code_cell_is_the_parameters_cell(notebook: Path) -> None:
    code_cells = [cell for cell in load(notebook)["cells"] if cell["cell_type"] == "code"]
    assert code_cells, "the notebook has no code cell"
    first = code_cells[0]
    assert "parameters" in first.get("metadata", {}).get("tags", []), "the first code cell is not tagged `parameters`"
    assigned: dict[str, object] = {}
    for node in ast.parse(source(first)).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                assigned[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                assigned[node.targets[0].id] = None
    missing = {"PROFILE", "DEVICE", "SEED"} - assigned.keys()
    assert not missing, f"the parameters cell does not define {sorted(missing)}"
    for name, expected in PARAMETERS.items():
        assert assigned[name] == expected, f"{name} is committed as {assigned[name]!r}, expected {expected!r}"
    assert isinstance(assigned["SEED"], int), "SEED must be an integer literal"


@pytest.mark.parametrize("notebook", [p for p in discover() if p.relative_to(REPO).parts[0] != "lectures"],
                         ids=lambda p: p.relative_to(REPO).as_posix())
def test_assignment_parameters_cell_is_locked(notebook: Path) -> None:
    first = next(cell for cell in load(notebook)["cells"] if cell["cell_type"] == "code")
    meta = first.get("metadata", {}).get("nbgrader", {})
    assert meta.get("grade_id") == "parameters" and meta.get("locked") is True, \
        "the parameters cell must be a locked nbgrader cell with grade_id 'parameters'"


def test_assignments_are_in_sync_with_solutions(capsys: pytest.CaptureFixture[str]) -> None:
    if not (REPO / "solutions").is_dir() or not any((REPO / "solutions").glob("*/*.ipynb")):
        pytest.skip("no solutions yet")
    code = main(["generate", "--check", "--root", str(REPO), "-q"])
    assert code == 0, capsys.readouterr().err
