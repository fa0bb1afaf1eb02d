"""``course validate``: structure against the released notebook, visible tests, a real exit code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from grader.cli import main
from grader.notebooks import solved_notebook

FIXTURE = Path(__file__).parent / "fixtures" / "toy_generate"
TOY = "00_toy"


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("validate") / "course"
    shutil.copytree(FIXTURE, root)
    assert main(["generate", "--root", str(root), "-q"]) == 0
    return root


def release(course: Path) -> nbformat.NotebookNode:
    return nbformat.read(course / "assignments" / TOY / f"{TOY}.ipynb", as_version=4)


def solved(course: Path) -> nbformat.NotebookNode:
    return solved_notebook(release(course), nbformat.read(course / "solutions" / TOY / f"{TOY}.ipynb", as_version=4))


def save(nb: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def cell(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == name)


def validate(course: Path, path: Path, *extra: str) -> int:
    return main(["validate", str(path), "--root", str(course), *extra])


def test_a_correct_notebook_passes(course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = save(solved(course), tmp_path / f"{TOY}.ipynb")
    assert validate(course, path) == 0
    out = capsys.readouterr().out
    assert "Structure: OK" in out and "✓ test_add (2 pt) passed" in out and "OK: ready to submit" in out


def test_the_released_stub_fails_its_visible_tests(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate(course, course / "assignments" / TOY / f"{TOY}.ipynb") == 1
    out = capsys.readouterr().out
    assert "Structure: OK" in out
    assert "✗ test_add (2 pt) failed: NotImplementedError" in out


def test_a_wrong_answer_reports_the_assertion_message(course: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    nb = solved(course)
    cell(nb, "add").source = "def add(a, b):\n    return a * b"
    assert validate(course, save(nb, tmp_path / "mine.ipynb"), "--assignment", TOY) == 1
    out = capsys.readouterr().out
    assert "✗ test_add (2 pt) failed: AssertionError: add(1, 2) should be 3" in out
    assert "✓ test_mean (1 pt) passed" in out


def test_a_tampered_locked_cell_and_a_deleted_graded_cell(course: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    nb = solved(course)
    cell(nb, "test_add").source = "assert True  # nothing to see here"
    nb.cells.remove(cell(nb, "test_mean"))
    assert validate(course, save(nb, tmp_path / f"{TOY}.ipynb")) == 1
    out = capsys.readouterr().out
    assert "locked test cell 'test_add' was edited" in out
    assert "test cell 'test_mean' is missing" in out


def test_a_retyped_cell_and_changed_metadata_with_json(course: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    nb = solved(course)
    retyped = cell(nb, "test_mean")
    retyped.cell_type = "markdown"
    del retyped["outputs"], retyped["execution_count"]
    cell(nb, "test_add").metadata["nbgrader"]["points"] = 20
    assert validate(course, save(nb, tmp_path / f"{TOY}.ipynb"), "--json", "--no-execute") == 1
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is False and result["structure_ok"] is False and result["assignment"] == TOY
    kinds = {(p["grade_id"], p["kind"]) for p in result["problems"]}
    assert kinds == {("test_mean", "retyped"), ("test_add", "metadata")}


def test_json_output_of_a_run(course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the file name says nothing; the assignment is found from the notebook's cells
    path = save(solved(course), tmp_path / "submission.ipynb")
    assert validate(course, path, "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is True and result["assignment"] == TOY and result["executed"] is True
    assert [(t["grade_id"], t["status"]) for t in result["tests"]] == [("test_add", "passed"), ("test_mean", "passed")]


def test_not_a_notebook_is_a_clear_error(course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / f"{TOY}.ipynb"
    path.write_text("{not json", encoding="utf-8")
    assert validate(course, path, "--json") == 2
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is False and "invalid JSON" in result["error"]
