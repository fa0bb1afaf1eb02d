"""Per-student HTML feedback that never reveals hidden tests.

nbgrader's ``generate_feedback`` shows hidden test code and their tracebacks, so the page is built
here from the graded notebook instead:

* a score table and the grading status at the top;
* each test cell shows only its visible source (as released) and a one-line verdict: passed, or
  failed with the message of a failing VISIBLE assert; a hidden failure says only that;
* the student's own cells keep their outputs, except any output quoting a hidden test line;
* a final check on the rendered text: if a hidden line still shows up, only the score table is sent.
"""

from __future__ import annotations

import html
import re
from copy import deepcopy
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

from grader import notebooks as nbs
from grader.grade import NOT_RUN_ENAME, TIMEOUT_ENAME, failing_line

if TYPE_CHECKING:
    from grader.autograde import StudentGrade

HIDDEN_NOTE = "# (hidden tests run here; their code is not shown)"
MIN_SECRET_CHARS = 8


def hidden_lines(source: nbformat.NotebookNode, released: nbformat.NotebookNode) -> set[str]:
    """Stripped lines of the hidden-test regions that the released notebook does not show anyway."""
    visible = {line.strip() for cell in released.cells for line in cell.get("source", "").splitlines()}
    secrets = set()
    for cell in source.cells:
        if nbs.is_test_cell(cell):
            for line in nbs.hidden_test_lines(cell.source)[1]:
                text = line.strip()
                if len(text) >= MIN_SECRET_CHARS and text not in visible and not text.startswith("#"):
                    secrets.add(text)
    return secrets


def _output_text(output: nbformat.NotebookNode) -> str:
    parts = [output.get("text", "") or "", output.get("ename", "") or "", output.get("evalue", "") or ""]
    parts += [nbs.strip_ansi(line) for line in output.get("traceback", [])]
    for value in output.get("data", {}).values():
        parts.append(value if isinstance(value, str) else str(value))
    return "\n".join(str(p) for p in parts)


def verdict(cell: nbformat.NotebookNode, earned: float, points: float) -> str:
    """One line for a graded test: passed, or why it failed (visible asserts only)."""
    if earned >= points:
        return f"PASSED ({earned:g}/{points:g} points)"
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    head = f"FAILED ({earned:g}/{points:g} points)"
    if not errors:
        return f"{head}: partial credit" if earned > 0 else head
    error = errors[0]
    if error.get("ename") == NOT_RUN_ENAME:
        return f"{head}: {error.get('evalue')}"
    if error.get("ename") == TIMEOUT_ENAME:
        return f"{head}: stopped, the cell ran past its time limit"
    hidden_start = nbs.hidden_test_lines(cell.source)[0]
    line = failing_line(cell, error)
    if line is not None and (hidden_start is None or line < hidden_start):
        message = f"{error.get('ename')}: {error.get('evalue')}".rstrip(": ")
        return f"{head}: a visible test failed: {message}"
    return f"{head}: a hidden test failed (its code and message are not shown)"


def _summary_cell(grade: StudentGrade, assignment: str) -> nbformat.NotebookNode:
    rows = "\n".join(f"| `{name}` | {grade.scores.get(name, 0.0):g} | {points:g} |"
                     for name, points in grade.max_scores.items())
    lines = [
        f"# Feedback: {html.escape(assignment)}, {html.escape(grade.student)}",
        "",
        f"**Score: {grade.total:g} / {grade.max_total:g}**, status: `{grade.status}`",
        "",
    ]
    if grade.reason:
        lines += [f"Notes: {html.escape(grade.reason)}", ""]
    lines += ["| test | points | max |", "|---|---|---|", rows, "",
              "Hidden tests run on your code but their code is not shown."]
    return nbformat.v4.new_markdown_cell("\n".join(lines))


def feedback_notebook(grade: StudentGrade, assignment: str, graded: nbformat.NotebookNode | None,
                      source: nbformat.NotebookNode, released: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook behind the feedback page (graded notebook with hidden content removed)."""
    page = nbformat.v4.new_notebook(metadata={"kernelspec": source.metadata.get("kernelspec", {}),
                                              "language_info": {"name": "python"}})
    page.cells.append(_summary_cell(grade, assignment))
    if graded is None:
        return page
    secrets = hidden_lines(source, released)
    released_sources = {name: cells[0].source for name, cells in nbs.cells_by_grade_id(released).items()}
    for cell in deepcopy(graded).cells:
        if nbs.added_by_papermill(cell):
            continue
        cell.get("metadata", {}).pop("papermill", None)
        if nbs.is_test_cell(cell):
            name = nbs.grade_id(cell)
            points = grade.max_scores.get(name, float(nbs.nbgrader_meta(cell).get("points", 0)))
            message = verdict(cell, grade.scores.get(name, 0.0), points)
            has_hidden = nbs.hidden_test_lines(cell.source)[0] is not None
            visible = released_sources.get(name, nbs.visible_test_source(cell.source))
            cell.source = visible + (f"\n{HIDDEN_NOTE}" if has_hidden else "")
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=message + "\n")]
        elif cell.cell_type == "code":
            cell.outputs = [
                o if not any(secret in _output_text(o) for secret in secrets)
                else nbformat.v4.new_output("stream", name="stdout",
                                            text="[output removed: it quoted hidden test code]\n")
                for o in cell.outputs
            ]
        page.cells.append(cell)
    return page


_TAG = re.compile(r"<[^>]+>")


def visible_text(page_html: str) -> str:
    """The text a reader sees in an HTML page (tags dropped, entities decoded)."""
    return html.unescape(_TAG.sub("", page_html))


class FeedbackWriter:
    """Renders feedback pages; one nbconvert exporter reused for a whole class."""

    def __init__(self) -> None:
        from nbconvert import HTMLExporter

        self.exporter = HTMLExporter()

    def render(self, page: nbformat.NotebookNode) -> str:
        body, _ = self.exporter.from_notebook_node(page)
        return body

    def write(self, path: Path, grade: StudentGrade, assignment: str, graded: nbformat.NotebookNode | None,
              source: nbformat.NotebookNode, released: nbformat.NotebookNode,
              own_sources: str = "") -> Path:
        """Write the page for one student; ``own_sources`` (the student's submitted code) is
        allowed to contain anything, so a line found there is not counted as a leak."""
        page = feedback_notebook(grade, assignment, graded, source, released)
        body = self.render(page)
        text = visible_text(body)
        secrets = [s for s in hidden_lines(source, released) if s not in own_sources]
        if any(secret in text for secret in secrets):
            body = self.render(feedback_notebook(grade, assignment, None, source, released))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
        return path
