"""``course generate``: nbgrader's student version, made byte-stable, and ``--check`` for drift."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from grader.assignments import Assignment
from grader.cli import main
from grader.generate import generate_assignment

FIXTURE = Path(__file__).parent / "fixtures" / "toy_generate"
TOY = "00_toy"


@pytest.fixture
def course(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    shutil.copytree(FIXTURE, root)
    return root


def released(course: Path) -> Path:
    return course / "assignments" / TOY / f"{TOY}.ipynb"


def test_generate_writes_the_student_version(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--root", str(course), "-q"]) == 0
    assert "assignments/00_toy/00_toy.ipynb: written (6 cells, 2 to write, 2 tests worth 3 points)" in capsys.readouterr().out
    text = released(course).read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=4)
    by_id = {cell.metadata["nbgrader"]["grade_id"]: cell for cell in nb.cells}
    # solutions replaced by the stub, the code around them kept
    assert by_id["add"].source.endswith("# YOUR CODE HERE\n    raise NotImplementedError()")
    assert by_id["add"].source.startswith("def add(a, b):")
    assert "return a + b" not in text and "BEGIN SOLUTION" not in text
    # hidden tests gone, visible ones kept
    assert "HIDDEN" not in text and "add(-1, 1)" not in text
    assert by_id["test_add"].source == 'assert add(1, 2) == 3, "add(1, 2) should be 3"'
    # locked, checksummed, no outputs
    assert by_id["test_add"].metadata["editable"] is False
    assert all("checksum" in cell.metadata["nbgrader"] for cell in nb.cells)
    assert all(cell.outputs == [] and cell.execution_count is None for cell in nb.cells if cell.cell_type == "code")
    # the instructor's gradebook is not created or touched
    assert not (course / "build").exists() and not list(course.rglob("*.db"))


def test_generating_twice_gives_identical_bytes(course: Path, tmp_path: Path) -> None:
    assignment = Assignment(TOY, course)
    generate_assignment(assignment, tmp_path / "first")
    generate_assignment(assignment, tmp_path / "second")
    first = (tmp_path / "first" / f"{TOY}.ipynb").read_bytes()
    assert first == (tmp_path / "second" / f"{TOY}.ipynb").read_bytes()
    # the cell ids are the source's own, not random ones
    assert [cell["id"] for cell in json.loads(first)["cells"]][:3] == ["intro", "parameters", "add"]


def test_cell_ids_are_derived_when_the_source_has_none(course: Path, tmp_path: Path) -> None:
    source = course / "solutions" / TOY / f"{TOY}.ipynb"
    raw = json.loads(source.read_text(encoding="utf-8"))
    raw["nbformat_minor"] = 4
    for cell in raw["cells"]:
        del cell["id"]
    raw["cells"][0]["metadata"] = {}  # a plain markdown cell: no grade_id either
    source.write_text(json.dumps(raw), encoding="utf-8")
    assignment = Assignment(TOY, course)
    generate_assignment(assignment, tmp_path / "first")
    generate_assignment(assignment, tmp_path / "second")
    first = (tmp_path / "first" / f"{TOY}.ipynb").read_bytes()
    assert first == (tmp_path / "second" / f"{TOY}.ipynb").read_bytes()
    nb = json.loads(first)
    assert nb["nbformat_minor"] == 5
    assert [cell["id"] for cell in nb["cells"]] == ["cell-0", "parameters", "add", "test_add", "mean", "test_mean"]


def test_check_passes_in_sync_and_detects_a_drifted_file(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--root", str(course), "-q"]) == 0
    assert main(["generate", "--root", str(course), "--check", "-q"]) == 0
    assert "in sync" in capsys.readouterr().out

    path = released(course)
    path.write_text(path.read_text(encoding="utf-8").replace("should be 3", "must be 3"), encoding="utf-8")
    assert main(["generate", "--root", str(course), "--check", "-q"]) == 1
    err = capsys.readouterr().err
    assert "assignments/00_toy/00_toy.ipynb: differs" in err
    assert "cell test_add: source changed" in err

    path.unlink()
    assert main(["generate", "--root", str(course), "--check", "-q"]) == 1
    assert "assignments/00_toy/00_toy.ipynb: missing" in capsys.readouterr().err


def test_check_detects_a_changed_solution_and_an_orphan(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--root", str(course), "-q"]) == 0
    source = course / "solutions" / TOY / f"{TOY}.ipynb"
    source.write_text(source.read_text(encoding="utf-8").replace("should be 3", "must equal 3"), encoding="utf-8")
    orphan = course / "assignments" / "99_gone" / "99_gone.ipynb"
    orphan.parent.mkdir(parents=True)
    shutil.copy(released(course), orphan)
    assert main(["generate", "--root", str(course), "--check", "-q"]) == 1
    err = capsys.readouterr().err
    assert "00_toy.ipynb: differs" in err and "assignments/99_gone/: orphan" in err
    # generating again repairs the drift (the orphan stays until someone deletes it)
    assert main(["generate", "--root", str(course), "-q"]) == 0
    assert main(["generate", TOY, "--root", str(course), "--check", "-q"]) == 0


def test_unknown_assignment_is_a_clear_error(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "07_nope", "--root", str(course), "-q"]) == 2
    assert "unknown assignment '07_nope'; known assignments: 00_toy" in capsys.readouterr().err


def test_broken_nbgrader_metadata_is_reported(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = course / "solutions" / TOY / f"{TOY}.ipynb"
    nb = nbformat.read(source, as_version=4)
    nb.cells[5].metadata["nbgrader"]["grade_id"] = "test_add"  # duplicate grade_id
    nbformat.write(nb, source)
    assert main(["generate", "--root", str(course), "-q"]) == 2
    err = capsys.readouterr().err
    assert "nbgrader could not generate 00_toy" in err and "test_add" in err
