"""Cell helpers shared by the grading steps: nbgrader metadata, graded cells, hidden-test regions.

nbgrader marks its cells with ``cell.metadata.nbgrader``: ``grade_id`` names a cell, ``solution``
cells hold the student's code, ``grade`` cells carry ``points`` (our test cells), and ``locked``
cells must not change. These helpers read that metadata the way nbgrader itself does.
"""

from __future__ import annotations

import json
import re
from copy import deepcopy
from pathlib import Path

import nbformat

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"


class NotebookReadError(Exception):
    """A submitted file that is not a readable Jupyter notebook; the message says why."""


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read ``path`` as an nbformat-4 notebook, or raise :class:`NotebookReadError` with a clear reason."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise NotebookReadError(f"not a notebook: the file is not UTF-8 text ({exc.reason})") from exc
    if not text.strip():
        raise NotebookReadError("not a notebook: the file is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookReadError(
            f"not a notebook: invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})"
        ) from exc
    if isinstance(data, dict) and data.get("nbformat", 4) != 4:
        raise NotebookReadError(f"not a notebook in format 4 (this file is nbformat {data.get('nbformat')}): "
                                "open it in JupyterLab and save it again")
    if not isinstance(data, dict) or "cells" not in data:
        raise NotebookReadError("not a notebook: the JSON has no 'cells' list")
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises several types for malformed documents
        raise NotebookReadError(f"not a notebook: {type(exc).__name__}: {exc}") from exc
    return nb


def nbgrader_meta(cell: nbformat.NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grade_id(cell: nbformat.NotebookNode) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def is_solution(cell: nbformat.NotebookNode) -> bool:
    return bool(nbgrader_meta(cell).get("solution", False))


def is_graded(cell: nbformat.NotebookNode) -> bool:
    return bool(nbgrader_meta(cell).get("grade", False))


def is_locked(cell: nbformat.NotebookNode) -> bool:
    """nbgrader's rule: solution cells are never locked, graded cells always are."""
    meta = nbgrader_meta(cell)
    if not meta or meta.get("solution", False):
        return False
    return bool(meta.get("grade", False) or meta.get("locked", False))


def is_test_cell(cell: nbformat.NotebookNode) -> bool:
    """An autograded test: a graded, non-solution code cell (its score comes from its outputs)."""
    return cell.get("cell_type") == "code" and is_graded(cell) and not is_solution(cell)


def test_cells(nb: nbformat.NotebookNode) -> dict[str, float]:
    """``grade_id -> points`` of every autograded test cell, in notebook order."""
    return {grade_id(cell): float(nbgrader_meta(cell).get("points", 0)) for cell in nb.cells if is_test_cell(cell)}


def cells_by_grade_id(nb: nbformat.NotebookNode) -> dict[str, list[nbformat.NotebookNode]]:
    """Every cell carrying a grade_id, grouped by it (a list longer than one means a duplicate)."""
    found: dict[str, list[nbformat.NotebookNode]] = {}
    for cell in nb.cells:
        name = grade_id(cell)
        if name:
            found.setdefault(name, []).append(cell)
    return found


def strip_solution_markers(source: str) -> str:
    """The solution's code as a student would write it: the BEGIN/END SOLUTION lines removed."""
    lines = source.splitlines()
    return "\n".join(line for line in lines if line.strip() not in (BEGIN_SOLUTION, END_SOLUTION))


def hidden_test_lines(source: str) -> tuple[int | None, list[str]]:
    """First line number (1-based) of the hidden-test region and the lines inside it.

    Returns ``(None, [])`` for a cell without hidden tests.
    """
    start, hidden, inside = None, [], False
    for number, line in enumerate(source.splitlines(), start=1):
        if BEGIN_HIDDEN in line:
            inside = True
            start = start or number
        elif END_HIDDEN in line:
            inside = False
        elif inside:
            hidden.append(line)
    return start, hidden


def visible_test_source(source: str) -> str:
    """A test cell's source with its hidden-test region removed (what the student was given)."""
    kept, inside = [], False
    for line in source.splitlines():
        if BEGIN_HIDDEN in line:
            inside = True
        elif END_HIDDEN in line:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept).rstrip()


def solved_notebook(
    release: nbformat.NotebookNode, source: nbformat.NotebookNode, grade_ids: list[str] | None = None
) -> nbformat.NotebookNode:
    """The released notebook with the solution's code typed into its solution cells.

    ``grade_ids`` limits which solution cells are filled (default: all), so a partly solved
    submission can be built from the same two notebooks and never drifts from them.
    """
    solutions = {grade_id(cell): cell.source for cell in source.cells if is_solution(cell)}
    solved = deepcopy(release)
    for cell in solved.cells:
        name = grade_id(cell)
        if is_solution(cell) and name in solutions and (grade_ids is None or name in grade_ids):
            cell.source = strip_solution_markers(solutions[name])
    return solved


PAPERMILL_TAGS = ("injected-parameters", "papermill-error-cell-tag")


def added_by_papermill(cell: nbformat.NotebookNode) -> bool:
    """Cells papermill inserts: the injected parameters and its error banners."""
    return any(tag in PAPERMILL_TAGS for tag in cell.get("metadata", {}).get("tags", []))


def solution_cell_ids(nb: nbformat.NotebookNode) -> list[str]:
    return [grade_id(cell) for cell in nb.cells if is_solution(cell)]


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)
