"""``course autograde`` on the toy assignment: one class graded once (session fixture), many checks.

The class (see ``fixtures/toy_class.py``): correct, stub, wrong (visible + hidden failures), crash
(kernel death), loop (cell timeout), tamper (edited test), deleted (test cell removed), corrupt.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import nbformat
import pytest
from fixtures.toy_class import ASSIGNMENT, MAX_SCORES, SECRETS, make_course, once, shared_dir, students

from grader import grade as grading
from grader import notebooks as nbs
from grader.autograde import StudentGrade, grade_submissions
from grader.feedback import visible_text
from grader.sandbox import kernel_environment, worker_slots
from grader.sanitize import find_tampering

CELL_TIMEOUT = 5


@pytest.fixture(scope="session")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_course(tmp_path_factory.mktemp("course"))


def _grade_the_class(folder: Path) -> None:
    course = make_course(folder / "course")
    submissions = students(course, folder / "class")
    os.environ["GRADER_TEST_SECRET"] = "instructor-only"  # must not reach a student's kernel
    try:
        grade_submissions(ASSIGNMENT, submissions, profile="smoke", workers=2, workdir=folder / ASSIGNMENT,
                          cell_timeout=CELL_TIMEOUT, course_root=course, progress=False, log=lambda line: None)
    finally:
        del os.environ["GRADER_TEST_SECRET"]


@pytest.fixture(scope="session")
def toy_class(tmp_path_factory: pytest.TempPathFactory):
    """Grade the whole toy class once per test run; return (workdir, {student: StudentGrade}, submissions)."""
    folder = once(shared_dir(tmp_path_factory.getbasetemp(), "toy_class"), _grade_the_class)
    fields = set(StudentGrade.__dataclass_fields__)
    grades = {}
    for path in sorted((folder / ASSIGNMENT / "results").glob("*.json")):
        record = json.loads(path.read_text())
        grades[record["student"]] = StudentGrade(**{k: v for k, v in record.items() if k in fields})
    submissions = {path.stem: path for path in (folder / "class").glob("*.ipynb")}
    return folder / ASSIGNMENT, grades, submissions


def test_every_student_gets_a_grade(toy_class) -> None:
    _, grades, submissions = toy_class
    assert sorted(grades) == sorted(submissions)
    for grade in grades.values():
        assert isinstance(grade, StudentGrade)
        assert grade.max_scores == MAX_SCORES and grade.max_total == 4
        assert grade.total == sum(grade.scores.values())


def test_correct_student_full_marks(toy_class) -> None:
    grade = toy_class[1]["correct"]
    assert (grade.total, grade.status, grade.reason, grade.tampered) == (4, "ok", "", False)


def test_stderr_warning_does_not_fail_a_passing_test(toy_class) -> None:
    # test_count_words calls warnings.warn (stderr) before its asserts; it still earns its 2 points
    assert toy_class[1]["correct"].scores["test_count_words"] == 2


def test_stub_scores_zero(toy_class) -> None:
    grade = toy_class[1]["stub"]
    assert (grade.total, grade.status, grade.tampered) == (0, "ok", False)


def test_failing_tests_score_zero_after_the_real_grade_step(toy_class) -> None:
    # nbgrader's output-clearing pass is off: were it on, every test would pass
    grade = toy_class[1]["wrong"]
    assert grade.scores == {"test_add": 0, "test_count_words": 0, "test_mean": 1}
    assert grade.status == "ok"


def test_kernel_death_scores_never_run_tests_zero_with_a_reason(toy_class) -> None:
    grade = toy_class[1]["crash"]
    assert grade.scores == {"test_add": 1, "test_count_words": 0, "test_mean": 0}
    assert grade.status == "crashed"
    assert "kernel died during cell 8 (count_words)" in grade.reason
    assert "never ran" in grade.reason and "test_count_words, test_mean" in grade.reason


def test_timeout_is_reported_and_later_cells_still_graded(toy_class) -> None:
    grade = toy_class[1]["loop"]
    assert grade.status == "timeout"
    assert f"{CELL_TIMEOUT} s cell time limit" in grade.reason and "count_words" in grade.reason
    assert grade.scores == {"test_add": 1, "test_count_words": 0, "test_mean": 1}


def test_edited_test_is_flagged_and_restored(toy_class) -> None:
    grade = toy_class[1]["tamper"]
    assert grade.tampered and grade.status == "tampered"
    assert "test_add" in grade.reason
    assert grade.scores["test_add"] == 0  # its `assert True` was replaced by the original test


def test_deleted_test_is_flagged_put_back_and_graded(toy_class) -> None:
    grade = toy_class[1]["deleted"]
    assert grade.tampered and "test_mean: deleted" in grade.reason
    assert grade.total == 4


def test_corrupt_notebook_is_an_error_with_a_reason(toy_class) -> None:
    grade = toy_class[1]["corrupt"]
    assert (grade.total, grade.status) == (0, "error")
    assert "invalid JSON" in grade.reason


def test_kernel_runs_in_a_scrubbed_sandbox(toy_class) -> None:
    workdir = toy_class[0]
    nb = nbformat.read(workdir / "executed" / "correct" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for o in nb.cells[-2].outputs)
    assert "ENV" in printed and "GRADER_TEST_SECRET" not in printed
    assert "HOME /" in printed and str(Path.home()) + "\n" not in printed
    assert "FSIZE (1073741824," in printed


def test_grades_csv(toy_class) -> None:
    workdir, grades, _ = toy_class
    with (workdir / "grades.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["student", *MAX_SCORES, "total", "max", "status", "reason", "tampered"]
    assert [row["student"] for row in rows] == sorted(grades)
    by_student = {row["student"]: row for row in rows}
    assert by_student["correct"]["total"] == "4" and by_student["correct"]["status"] == "ok"
    assert by_student["tamper"]["tampered"] == "yes" and by_student["stub"]["tampered"] == "no"
    assert by_student["corrupt"]["status"] == "error" and "invalid JSON" in by_student["corrupt"]["reason"]


def test_summary_and_histogram(toy_class) -> None:
    workdir, grades, _ = toy_class
    summary = json.loads((workdir / "summary.json").read_text())
    assert summary["students"] == len(grades) and summary["max_total"] == 4
    assert summary["statuses"]["error"] == 1 and summary["tampered"] == ["deleted", "tamper"]
    assert set(summary["pass_rates"]) == set(MAX_SCORES)
    assert (workdir / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_feedback_never_shows_hidden_tests(toy_class) -> None:
    workdir, grades, _ = toy_class
    for student in grades:
        page = (workdir / "feedback" / f"{student}.html").read_text()
        text = visible_text(page)
        assert f"{grades[student].total:g} / 4" in text
        for secret in SECRETS:
            assert secret not in page and secret not in text, (student, secret)
    # the correct student printed the kernel's input history, hidden tests included
    assert "[output removed: it quoted hidden test code]" in visible_text((workdir / "feedback" / "correct.html").read_text())
    wrong = visible_text((workdir / "feedback" / "wrong.html").read_text())
    assert "a visible test failed: AssertionError: add(1, 2) should be 3" in wrong
    assert "a hidden test failed" in wrong


def test_gradebook_holds_only_real_grades(toy_class) -> None:
    from nbgrader.api import Gradebook

    workdir, grades, _ = toy_class
    with Gradebook(f"sqlite:///{workdir / 'gradebook.db'}") as gradebook:
        submitted = {s.student_id: s.score for s in gradebook.assignment_submissions(ASSIGNMENT)}
    assert set(submitted) == {s for s, g in grades.items() if g.status != "error"}
    assert all(submitted[s] == grades[s].total for s in submitted)


def test_rerun_is_idempotent(toy_class, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from nbgrader.api import Gradebook

    from grader.cli import main

    shared, grades, _ = toy_class
    workdir = shutil.copytree(shared, tmp_path / ASSIGNMENT)  # other tests read the shared one
    before = (workdir / "grades.csv").read_text()
    monkeypatch.chdir(shared.parent / "course")
    code = main(["autograde", ASSIGNMENT, "--profile", "smoke", "--students", "correct,wrong",
                 "--workers", "1", "--timeout", str(CELL_TIMEOUT), "--workdir", str(workdir)])
    assert code == 0
    assert (workdir / "grades.csv").read_text() == before
    with Gradebook(f"sqlite:///{workdir / 'gradebook.db'}") as gradebook:
        assert len(gradebook.assignment_submissions(ASSIGNMENT)) == len(grades) - 1  # corrupt is not there


# --- the pieces, without running notebooks ----------------------------------------------------

def _test_cell(outputs: list, *, execution_count: int | None = 3, reply: bool = True) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("assert f() == 1", execution_count=execution_count)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 2,
                                 "grade_id": "test_f", "schema_version": 3}
    cell.metadata["execution"] = {"iopub.execute_input": "t"} | ({"shell.execute_reply": "t"} if reply else {})
    cell.outputs = outputs
    return cell


def test_nbgrader_alone_would_fail_stderr_and_pass_never_run_cells() -> None:
    from nbgrader.utils import determine_grade

    warned = _test_cell([nbformat.v4.new_output("stream", name="stderr", text="UserWarning: noise\n")])
    died = _test_cell([], reply=False)
    never = _test_cell([], execution_count=None)
    assert [determine_grade(c)[0] for c in (warned, died, never)] == [0, 2, 2]  # the traps
    nb = nbformat.v4.new_notebook(cells=[warned, died, never])
    assert grading.prepare_for_grading(nb, "the kernel died") == ["test_f", "test_f"]
    assert [determine_grade(c)[0] for c in nb.cells] == [2, 0, 0]
    assert "this test never ran: the kernel died" in nb.cells[1].outputs[0]["evalue"]


def test_displayed_number_out_of_range_is_not_taken_as_partial_credit() -> None:
    from nbgrader.utils import determine_grade

    shown = nbformat.v4.new_output("execute_result", data={"text/plain": "5000"}, execution_count=3)
    half = nbformat.v4.new_output("execute_result", data={"text/plain": "0.5"}, execution_count=3)
    nb = nbformat.v4.new_notebook(cells=[_test_cell([shown]), _test_cell([half])])
    grading.prepare_for_grading(nb, "")
    assert [determine_grade(c)[0] for c in nb.cells] == [2, 0.5]  # nbgrader raises on 5000 > 2


def test_find_tampering(course: Path) -> None:
    released = nbs.read_notebook(course / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    assert find_tampering(released, released) == []
    changed = nbformat.from_dict(json.loads(json.dumps(released)))
    by_id = {nbs.grade_id(c): c for c in changed.cells}
    by_id["test_add"].source += "\n\n  "  # whitespace only: not tampering
    assert find_tampering(changed, released) == []
    by_id["parameters"].source = 'PROFILE = "smoke"'
    by_id["test_count_words"].cell_type = "markdown"
    by_id["test_mean"].metadata["nbgrader"]["points"] = 10
    changed.cells.append(nbformat.v4.new_code_cell("pass", metadata={"nbgrader": {
        "grade": True, "grade_id": "bonus", "points": 5, "solution": False, "locked": True}}))
    changed.cells.append(nbformat.from_dict(json.loads(json.dumps(by_id["test_add"]))))  # a harmless copy
    problems = find_tampering(changed, released)
    assert problems == ["parameters: locked cell edited",
                        "test_count_words: cell type changed from code to markdown",
                        "test_mean: nbgrader settings changed (graded/solution/locked/points)",
                        "bonus: graded or locked cell that the released notebook does not have"]


def test_kernel_environment_is_scrubbed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    env = kernel_environment(tmp_path, {"CUDA_VISIBLE_DEVICES": "1"})
    assert "AWS_SECRET_ACCESS_KEY" not in env
    assert env["HOME"] == str(tmp_path) and env["PYTHONPATH"] == "/somewhere"
    assert env["IPYTHONDIR"].startswith(str(tmp_path)) and env["CUDA_VISIBLE_DEVICES"] == "1"


def test_worker_slots_pin_one_gpu_each() -> None:
    assert worker_slots(gpus=["0", "1", "2"]) == [{"CUDA_VISIBLE_DEVICES": g} for g in "012"]
    assert [s["CUDA_VISIBLE_DEVICES"] for s in worker_slots(4, gpus=["0", "1"])] == ["0", "1", "0", "1"]
    cpu = worker_slots(2, gpus=[])
    assert len(cpu) == 2 and all(s["CUDA_VISIBLE_DEVICES"] == "" for s in cpu)


def test_memory_and_wall_clock_limits_stop_a_kernel(course: Path, tmp_path: Path) -> None:
    from fixtures.toy_class import edit

    from grader.sandbox import Limits

    source = nbs.read_notebook(course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    released = nbs.read_notebook(course / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    correct = nbs.solved_notebook(released, source)
    hog = edit(correct, "count_words", lambda s: 'hog = b"x" * (600 * 2**20)\nimport time\ntime.sleep(60)\n' + s)
    # ignores the interrupt that the cell timeout sends: its kernel is stopped at the next time limit
    stubborn = edit(correct, "count_words",
                    lambda s: "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n" + s)
    paths = {}
    for name, nb in {"hog": hog, "stubborn": stubborn}.items():
        paths[name] = tmp_path / f"{name}.ipynb"
        nbformat.write(nb, paths[name])
    grades = {g.student: g for g in grade_submissions(
        ASSIGNMENT, paths, workers=2, workdir=tmp_path / "grading", cell_timeout=3, course_root=course,
        limits=Limits(memory=400 << 20), progress=False, log=lambda line: None)}

    hog = grades["hog"]
    assert hog.status == "crashed" and "more than 0.4 GiB of memory" in hog.reason, (hog.status, hog.reason)
    assert hog.scores == {"test_add": 1, "test_count_words": 0, "test_mean": 0} and "never ran" in hog.reason
    stubborn = grades["stubborn"]
    assert stubborn.status == "timeout" and "ignored the interrupt" in stubborn.reason, (stubborn.status,
                                                                                         stubborn.reason)
    assert stubborn.scores == {"test_add": 1, "test_count_words": 0, "test_mean": 0}
