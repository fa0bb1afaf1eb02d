"""The sample class generator, and ``course demo`` end to end on topic 1 (slow)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import nbformat
import pytest
from fixtures.toy_class import ASSIGNMENT, make_course

from grader import notebooks as nbs
from grader.collect import collect
from grader.examples.make_sample_class import sample_class, write_zip
from grader.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
TOPIC1 = "01_bow_naive_bayes"


def test_sample_class_is_derived_from_solution_and_release(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    files = sample_class(ASSIGNMENT, course)
    assert sorted(files) == ["correct", "corrupt", "loop", "partial", "stub", "tampered"]
    with pytest.raises(json.JSONDecodeError):
        json.loads(files["corrupt"])
    notebooks = {name: nbformat.reads(data.decode(), as_version=4) for name, data in files.items() if name != "corrupt"}

    def source_of(student: str, grade_id: str) -> str:
        return next(c.source for c in notebooks[student].cells if nbs.grade_id(c) == grade_id)

    assert "return a + b" in source_of("correct", "add") and "### BEGIN" not in source_of("correct", "add")
    assert "NotImplementedError" in source_of("stub", "add")
    assert "return a + b" in source_of("partial", "add") and "NotImplementedError" in source_of("partial", "mean")
    assert source_of("loop", "mean").startswith("while True:") and "return a + b" in source_of("loop", "add")
    assert source_of("tampered", "test_add") == "assert True"


def test_sample_zip_follows_the_collect_naming_rule(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    archive = write_zip(ASSIGNMENT, tmp_path / "class.zip", course)
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
    assert f"submissions/correct_{ASSIGNMENT}.ipynb" in names and f"submissions/corrupt/{ASSIGNMENT}.ipynb" in names
    report = collect(Workspace.create(ASSIGNMENT, tmp_path / "grading", course), archive)
    assert sorted(report.students) == ["correct", "corrupt", "loop", "partial", "stub", "tampered"]
    assert report.problems == [] and report.ignored == ["submissions/README.txt (not a notebook)"]


@pytest.mark.slow
def test_demo_grades_the_topic1_sample_class(tmp_path: Path) -> None:
    if not (REPO / "solutions" / TOPIC1 / f"{TOPIC1}.ipynb").exists():
        pytest.skip(f"solutions/{TOPIC1}/ does not exist yet")
    from grader.demo import run_demo

    lines: list[str] = []
    grades = {g.student: g for g in run_demo(TOPIC1, workdir=tmp_path / TOPIC1, course_root=REPO,
                                             progress=False, log=lines.append)}
    assert sorted(grades) == ["correct", "corrupt", "loop", "partial", "stub", "tampered"]
    full = grades["correct"].max_total
    assert full > 0
    assert (grades["correct"].total, grades["correct"].status) == (full, "ok")
    assert (grades["stub"].total, grades["stub"].status) == (0, "ok")
    assert 0 < grades["partial"].total < full and grades["partial"].status == "ok"
    loop = grades["loop"]
    assert loop.status == "timeout" and "cell time limit" in loop.reason
    assert 0 < loop.total < full  # the tests of the other functions are still graded
    tampered = grades["tampered"]
    assert tampered.tampered and tampered.status == "tampered" and tampered.total == 0
    first_test = next(iter(tampered.max_scores))
    assert f"{first_test}: locked cell edited" in tampered.reason
    assert grades["corrupt"].status == "error" and "invalid JSON" in grades["corrupt"].reason
    assert not any(g.tampered for name, g in grades.items() if name != "tampered")

    workdir = tmp_path / TOPIC1
    assert (workdir / "grades.csv").exists() and (workdir / "scores.png").exists()
    assert sorted(p.stem for p in (workdir / "feedback").glob("*.html")) == sorted(grades)
    output = "\n".join(lines)
    assert "grades.csv" in output and "feedback" in output and "correct" in output
