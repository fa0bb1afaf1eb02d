"""The red-team class (``grader/examples/make_red_team.py``) graded end to end, next to two honest students.

One class, graded once per test run (shared by the xdist workers): every attack must get exactly the
grade the generator expects, with its reason in grades.csv, and the honest students full marks.
A TCP server on 127.0.0.1 runs during the grading; the network attack must never reach it.
"""

from __future__ import annotations

import csv
import json
import re
import socket
import threading
from pathlib import Path

import pytest
from fixtures.toy_class import once, shared_dir

from grader import notebooks as nbs
from grader.autograde import grade_submissions
from grader.batch import sandbox_parent
from grader.collect import collect
from grader.examples.make_red_team import EXPECTED, WRONG_NAME, write_zip
from grader.isolation import probe
from grader.sandbox import Limits
from grader.workspace import Workspace

pytestmark = pytest.mark.slow

ASSIGNMENT = "01_bow_naive_bayes"
CELL_TIMEOUT = 20
LIMITS = Limits(memory=1 << 30, disk=256 << 20, file_size=128 << 20, processes=64)


def _serve(server: socket.socket, hits: list[bytes]) -> None:
    while True:
        try:
            connection, _ = server.accept()
        except OSError:  # closed: grading is over
            return
        with connection:
            hits.append(connection.recv(100) or b"(connected)")


def _grade_red_team(folder: Path) -> None:
    hits: list[bytes] = []
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        threading.Thread(target=_serve, args=(server, hits), daemon=True).start()
        archive = write_zip(ASSIGNMENT, folder / "red_team.zip", port=server.getsockname()[1])
        workspace = Workspace.create(ASSIGNMENT, folder / "grading")
        report = collect(workspace, archive)
        grade_submissions(ASSIGNMENT, {s: workspace.submitted(s) for s in report.students}, workers=2,
                          workdir=workspace.workdir, cell_timeout=CELL_TIMEOUT, limits=LIMITS, progress=False,
                          log=lambda line: None)
    (folder / "observed.json").write_text(json.dumps({"hits": [hit.decode(errors="replace") for hit in hits],
                                                       "problems": report.problems}))


@pytest.fixture(scope="session")
def red_team(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, dict[str, str]], dict, Path]:
    """(grades.csv rows by student, what the test server and `course collect` saw, the class folder)."""
    folder = once(shared_dir(tmp_path_factory.getbasetemp(), "red_team"), _grade_red_team)
    with (folder / "grading" / "grades.csv").open() as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    return rows, json.loads((folder / "observed.json").read_text()), folder


def _points_before_last_solution(repo: Path) -> tuple[float, float]:
    """Points of the tests above the last solution cell of the released notebook, and all points."""
    released = nbs.read_notebook(repo / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    last = nbs.solution_cell_ids(released)[-1]
    before, seen_last = 0.0, False
    for cell in released.cells:
        seen_last = seen_last or nbs.grade_id(cell) == last
        if nbs.is_test_cell(cell) and not seen_last:
            before += float(nbs.nbgrader_meta(cell)["points"])
    return before, sum(nbs.test_cells(released).values())


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_attack_gets_its_expected_grade(red_team, repo: Path, student: str) -> None:
    if student in ("network", "snoop") and not probe().network:
        pytest.skip("this machine allows no network namespace: " + "; ".join(probe().notes))
    rows, _, _ = red_team
    row, expected = rows[student], EXPECTED[student]
    total, full = float(row["total"]), float(row["max"])
    before, all_points = _points_before_last_solution(repo)
    assert full == all_points
    wanted = {"full": total == full, "zero": total == 0, "before": total == before,
              "between": before <= total < full, "before or full": total in (before, full)}[expected.score]
    assert wanted, (student, expected.score, total, before, row["reason"])
    assert row["status"] in expected.status.split("|"), (student, row["status"], row["reason"])
    assert re.search(expected.reason, row["reason"]) if expected.reason else row["reason"] == "", (student,
                                                                                                  row["reason"])
    assert (row["tampered"] == "yes") == expected.tampered, (student, row["tampered"], row["reason"])


def test_every_collected_student_has_one_row_and_the_wrong_name_is_reported(red_team) -> None:
    rows, observed, _ = red_team
    assert sorted(rows) == sorted(EXPECTED)
    assert len(observed["problems"]) == 1 and f"{WRONG_NAME}/homework.ipynb" in observed["problems"][0]
    assert "not named after the assignment" in observed["problems"][0]


def test_the_server_on_the_loopback_never_heard_from_a_submission(red_team) -> None:
    if not probe().network:
        pytest.skip("this machine allows no network namespace: " + "; ".join(probe().notes))
    _, observed, _ = red_team
    assert observed["hits"] == []


def test_a_flood_of_output_leaves_a_small_notebook(red_team) -> None:
    _, _, folder = red_team
    assert (folder / "grading" / "runs" / "output_flood.ipynb").stat().st_size < LIMITS.output_bytes + (1 << 20)


def test_no_sandbox_folder_or_process_is_left_behind(red_team) -> None:
    import psutil

    leftovers = [path.name for path in sandbox_parent().glob("grade-*")
                 if path.name.split("-")[1] in EXPECTED]
    assert leftovers == []
    ours = tuple(f"/grade-{student}-" for student in EXPECTED)
    running = [p.info["cmdline"] for p in psutil.process_iter(["cmdline"])
               if any(key in part for part in (p.info["cmdline"] or []) for key in ours)]
    assert running == []
