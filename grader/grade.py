"""Step 4, grade: nbgrader scores the EXECUTED notebooks into the real gradebook.

nbgrader's ``autograde`` runs with execution disabled and with its output-clearing sanitize pass
disabled (it would wipe the outputs just produced and every test would pass). Before that, the
executed notebook is prepared so that nbgrader's own scoring (``nbgrader.utils.determine_grade``)
gives the right answer in three cases where it would not:

* a test cell that never ran (the kernel died, was killed, or the run stopped) has no output, which
  nbgrader scores as PASSED: such a cell gets an ``error`` output saying why, so it scores 0;
* any ``stderr`` stream output scores 0, so a library warning would fail a correct answer:
  stderr streams are removed from test cells (a failing assert is an ``error`` output, not stderr);
* a test whose last expression displays a number is read as partial credit; a number outside
  [0, points] would make nbgrader raise for the whole notebook, so such a display is dropped.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field

import nbformat

from grader import notebooks as nbs
from grader.workspace import Workspace

NOT_RUN_ENAME = "NotExecuted"
TIMEOUT_ENAME = "KeyboardInterrupt"  # what papermill's interrupt_on_timeout leaves in the cell


@dataclass
class Findings:
    """What the executed notebook shows about its run."""

    timeouts: list[str] = field(default_factory=list)  # labels of cells stopped by the cell timeout
    stopped_in: str | None = None  # label of the first code cell that did not finish
    ran_any: bool = False  # whether the kernel started running any cell at all


def cell_label(cell: nbformat.NotebookNode, number: int) -> str:
    """How reports name a cell: its 1-based position in the student's notebook and its grade_id."""
    name = nbs.grade_id(cell)
    return f"cell {number} ({name})" if name else f"cell {number}"


def finished(cell: nbformat.NotebookNode) -> bool:
    """True when the kernel finished running the cell (with or without an error).

    A cell that never started has no ``execution_count``. A cell during which the kernel died or
    was killed has one, but nbclient never got its ``execute_reply`` (recorded, with its time, in
    ``metadata.execution``); papermill's own status says "completed" in both cases.
    """
    if cell.get("execution_count") is None:
        return False
    timing = cell.get("metadata", {}).get("execution")
    return "shell.execute_reply" in timing if timing is not None else True


def _not_run_output(reason: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename=NOT_RUN_ENAME, evalue=f"this test never ran: {reason}",
                                  traceback=[f"{NOT_RUN_ENAME}: this test never ran: {reason}"])


def _partial_credit(output: nbformat.NotebookNode) -> float | None:
    text = output.get("data", {}).get("text/plain")
    if isinstance(text, list):
        text = "".join(text)
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def scan(nb: nbformat.NotebookNode) -> Findings:
    """Cells stopped by the cell timeout, and the first code cell that did not finish, if any."""
    findings = Findings()
    number = 0
    for cell in nb.cells:
        if nbs.added_by_papermill(cell):
            continue
        number += 1
        if cell.cell_type != "code":
            continue
        if any(o.get("output_type") == "error" and o.get("ename") == TIMEOUT_ENAME for o in cell.outputs):
            findings.timeouts.append(cell_label(cell, number))
        findings.ran_any = findings.ran_any or cell.get("execution_count") is not None
        if findings.stopped_in is None and cell.source.strip() and not finished(cell):
            findings.stopped_in = cell_label(cell, number)
    return findings


def prepare_for_grading(nb: nbformat.NotebookNode, why_not_run: str) -> list[str]:
    """Adjust the test cells of ``nb`` in place so nbgrader scores them correctly.

    Returns the grade_ids of test cells that never finished; each gets an error output
    "this test never ran: <why_not_run>".
    """
    never_ran = []
    for cell in nb.cells:
        if not nbs.is_test_cell(cell):
            continue
        points = float(nbs.nbgrader_meta(cell).get("points", 0))
        kept = []
        for output in cell.outputs:
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                continue
            if output.get("output_type") == "execute_result":
                value = _partial_credit(output)
                if value is not None and not 0 <= value <= points:
                    continue
            kept.append(output)
        cell.outputs = kept
        if not finished(cell):
            never_ran.append(nbs.grade_id(cell))
            cell.outputs = [_not_run_output(why_not_run)]
    return never_ran


def failed_tests(nb: nbformat.NotebookNode, names: set[str]) -> dict[str, str]:
    """``grade_id -> exception name`` of the tests among ``names`` that ran and raised, in notebook order.

    Only the exception's name: its message may quote a hidden test's expected value.
    """
    failed: dict[str, str] = {}
    for cell in nb.cells:
        name = nbs.grade_id(cell)
        if name not in names or not nbs.is_test_cell(cell) or name in failed:
            continue
        errors = [o.get("ename", "") for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors and errors[0] != NOT_RUN_ENAME:
            failed[name] = errors[0]
    return failed


def grade(workspace: Workspace, student: str) -> None:
    """nbgrader autograde of ``executed/<student>`` into the real gradebook (raises NbgraderError)."""
    from nbgrader.converters import Autograde

    workspace.run_nbgrader(
        Autograde, db=workspace.gradebook, student=student,
        directories={"submitted_directory": "executed", "autograded_directory": "autograded"},
        settings={"Autograde.force": True, "Execute.enabled": False, "ClearOutput.enabled": False},
    )


def read_scores(workspace: Workspace, student: str) -> dict[str, float]:
    """``grade_id -> score`` of every graded cell of ``student`` in the real gradebook."""
    from nbgrader.api import Gradebook

    scores: dict[str, float] = {}
    with Gradebook(f"sqlite:///{workspace.gradebook}") as gradebook:
        submission = gradebook.find_submission(workspace.assignment, student)
        for notebook in submission.notebooks:
            for grade_row in notebook.grades:
                scores[grade_row.name] = float(grade_row.score or 0.0)
    return scores


def forget(workspace: Workspace, student: str) -> None:
    """Remove ``student``'s submission from the real gradebook and its graded copy (a stale grade
    from an earlier run must not survive a submission that now fails)."""
    from nbgrader.api import Gradebook, MissingEntry

    shutil.rmtree(workspace.autograded(student).parent.parent, ignore_errors=True)
    if not workspace.gradebook.exists():
        return
    with Gradebook(f"sqlite:///{workspace.gradebook}") as gradebook:
        try:
            gradebook.remove_submission(workspace.assignment, student)
        except MissingEntry:
            pass


_FRAME = re.compile(r"Cell In\[(\d+)\], line (\d+)")


def failing_line(cell: nbformat.NotebookNode, output: nbformat.NotebookNode) -> int | None:
    """Line of the test cell where an error output's exception passed through, if the traceback says."""
    count = cell.get("execution_count")
    for entry in output.get("traceback", []):
        for match in _FRAME.finditer(nbs.strip_ansi(entry)):
            if count is not None and int(match.group(1)) == count:
                return int(match.group(2))
    return None
