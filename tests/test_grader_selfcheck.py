"""``course selfcheck``: solution full marks, stub 0, every mistake loses its tests, full coverage."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from grader.cli import main
from grader.selfcheck import AssignmentCheck, judge, parse_mistake

REPO = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent / "fixtures" / "toy_generate"
TOY = "00_toy"
SOLUTIONS, TESTS = {"add", "mean"}, {"test_add", "test_mean"}


@pytest.fixture
def course(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    shutil.copytree(FIXTURE, root)
    return root


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- headers (no grading) ------------------------------------------------------------------------

def test_a_well_formed_header_parses(tmp_path: Path) -> None:
    parsed = parse_mistake(FIXTURE / "grader" / "mistakes" / TOY / "add_subtracts.py", SOLUTIONS, TESTS)
    assert parsed.problems == []
    assert (parsed.mistake, parsed.replaces, parsed.loses) == ("subtracts instead of adding", "add", ["test_add"])
    assert parsed.code.startswith("def add(a, b):") and parsed.student == "mistake_add_subtracts"
    several = write(tmp_path / "x.py", "# Mistake: m\n# Replaces: mean\n# Loses: test_add,  test_mean\nmean = 1\n")
    assert parse_mistake(several, SOLUTIONS, TESTS).loses == ["test_add", "test_mean"]


@pytest.mark.parametrize("text, problem", [
    ("# Replaces: add\n# Loses: test_add\nx = 1\n", "line 1 should read `# Mistake:"),
    ("# Mistake: m\n# Loses: test_add\nx = 1\n", "line 2 should read `# Replaces:"),
    ("# Mistake: m\n# Replaces: add\nx = 1\n", "line 3 should read `# Loses:"),
    ("# Mistake: m\n# Replaces: multiply\n# Loses: test_add\nx = 1\n", "Replaces: 'multiply' is not a solution cell"),
    ("# Mistake: m\n# Replaces: test_add\n# Loses: test_add\nx = 1\n", "Replaces: 'test_add' is not a solution cell"),
    ("# Mistake: m\n# Replaces: add\n# Loses: test_nope\nx = 1\n", "Loses: 'test_nope' is not a graded test"),
    ("# Mistake: m\n# Replaces: add\n# Loses: test_add\n", "no code after the three header lines"),
    ("# Mistake: m\n# Replaces: add\n# Loses: test_add\ndef add(a, b)\n", "the code does not compile"),
])
def test_malformed_headers_are_named(tmp_path: Path, text: str, problem: str) -> None:
    parsed = parse_mistake(write(tmp_path / "bad.py", text), SOLUTIONS, TESTS)
    assert any(problem in found for found in parsed.problems), parsed.problems


def test_judge_names_each_kind_of_violation(tmp_path: Path) -> None:
    def grade(student: str, **scores: float) -> SimpleNamespace:
        full = {"test_add": 2.0, "test_mean": 1.0}
        return SimpleNamespace(student=student, scores=scores, max_scores=full, total=sum(scores.values()),
                               max_total=3.0, status="ok", reason="", tampered=False)

    mistake = parse_mistake(FIXTURE / "grader" / "mistakes" / TOY / "add_subtracts.py", SOLUTIONS, TESTS)
    grades = {
        "solution": grade("solution", test_add=2.0, test_mean=0.0),  # a test fails on the solution
        "stub": grade("stub", test_add=0.0, test_mean=1.0),  # a test passes on the stub
        mistake.student: grade(mistake.student, test_add=1.0, test_mean=1.0),  # partial credit is not enough
    }
    check = AssignmentCheck(TOY)
    judge(check, grades, ["test_add", "test_mean"], [mistake])
    assert check.violations == [
        "solution: loses points on test_mean",
        "stub: scores points on test_mean (1 pt); the test passes without a solution",
        "add_subtracts.py: keeps 1 of 2 points on test_add; it must lose all of them",
        "coverage: test test_mean is named by no mistake file (add one to grader/mistakes/00_toy/)",
    ]


# --- the real grading pipeline on the toy assignment ----------------------------------------------

def test_toy_assignment_passes(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["selfcheck", "--root", str(course), "-q"]) == 0
    out = capsys.readouterr().out
    assert "mistake_add_subtracts" in out and "mistake_mean_floor_division" in out
    assert "all checks pass" in out and "1 of 1 assignment(s) pass" in out
    assert not (course / "grading").exists()  # the real grading area is never touched


def test_toy_assignment_with_bad_mistake_files_fails(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mistakes = course / "grader" / "mistakes" / TOY
    for bad in (FIXTURE / "bad_mistakes").glob("*.py"):
        shutil.copy(bad, mistakes)
    (mistakes / "mean_floor_division.py").unlink()  # test_mean is left uncovered
    assert main(["selfcheck", TOY, "--root", str(course), "-q"]) == 1
    out = capsys.readouterr().out
    assert "commutes.py: keeps 2 of 2 points on test_add; it must lose all of them" in out
    assert "unknown_cell.py: Replaces: 'multiply' is not a solution cell" in out
    assert "unknown_cell.py: Loses: 'test_multiply' is not a graded test" in out
    assert "coverage: test test_mean is named by no mistake file" in out
    assert "0 of 1 assignment(s) pass" in out


# --- the course's own assignments --------------------------------------------------------------

ASSIGNMENTS = sorted(path.name for path in (REPO / "solutions").iterdir() if (path / f"{path.name}.ipynb").is_file())


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_assignment_selfcheck_passes(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    if not list((REPO / "grader" / "mistakes" / name).glob("*.py")):
        pytest.fail(f"{name} has no mistake files in grader/mistakes/{name}/")
    code = main(["selfcheck", name, "--root", str(REPO), "-q"])
    assert code == 0, capsys.readouterr().out
