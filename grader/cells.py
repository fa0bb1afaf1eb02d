"""Cell helpers for running and checking notebooks: errors, positions, tamper comparisons.

The nbgrader roles of a cell (solution, graded test, locked, grade_id) are read with
:mod:`grader.notebooks`; this module adds what ``course run``/``validate``/``selfcheck`` need on
top: the points of a cell, how a cell failed, and where it sat before papermill added its cells.
"""

from __future__ import annotations

import re
from typing import Any

import nbformat

from grader.notebooks import added_by_papermill, grade_id, nbgrader_meta, strip_ansi

# The nbgrader metadata fields a student must not change (``checksum`` and ``cell_type`` are
# nbgrader's own records).
ROLE_FIELDS = ("grade", "solution", "locked", "points")


def points(cell: nbformat.NotebookNode) -> float:
    return float(nbgrader_meta(cell).get("points", 0) or 0)


def normalized_source(source: str) -> str:
    """Source with line endings unified and trailing blanks dropped, for tamper comparisons."""
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def source_changed(released: nbformat.NotebookNode, submitted: nbformat.NotebookNode) -> bool:
    """True when a locked cell's source differs from the released one beyond trailing whitespace."""
    return normalized_source(released.source) != normalized_source(submitted.source)


def clear_outputs(nb: nbformat.NotebookNode) -> None:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None


def error_output(cell: nbformat.NotebookNode) -> dict[str, Any] | None:
    """The cell's first ``error`` output, or ``None``."""
    if cell.cell_type != "code":
        return None
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return output
    return None


def describe_error(cell: nbformat.NotebookNode) -> str | None:
    """``"AssertionError: message"`` for a failed cell; a bare assert shows the failing line instead."""
    output = error_output(cell)
    if output is None:
        return None
    ename, evalue = output.get("ename", "Error"), strip_ansi(str(output.get("evalue", ""))).strip()
    if evalue:
        return f"{ename}: {evalue}"
    if ename == "NotImplementedError":
        return "NotImplementedError: a function it needs is not written yet"
    line = failing_line(output)
    return f"{ename} at `{line}`" if line else ename


def failing_line(output: dict[str, Any]) -> str | None:
    """The source line marked by the traceback's last ``---->`` arrow (IPython's format)."""
    marked = None
    for frame in output.get("traceback", []):
        for line in strip_ansi(frame).splitlines():
            match = re.match(r"^\s*-+>\s*\d+\s?(.*)$", line)
            if match:
                marked = match.group(1).strip()
    return marked


def traceback_text(cell: nbformat.NotebookNode, limit: int = 40) -> str:
    """The cell's error traceback as plain text (last ``limit`` lines)."""
    output = error_output(cell)
    if output is None:
        return ""
    lines = strip_ansi("\n".join(output.get("traceback", []))).splitlines()
    return "\n".join(lines[-limit:])


def source_index(executed: nbformat.NotebookNode, index: int | None) -> int | None:
    """The position cell ``index`` of an executed notebook had before papermill added its cells."""
    if index is None:
        return None
    return sum(1 for cell in executed.cells[:index] if not added_by_papermill(cell))


def label(nb: nbformat.NotebookNode, index: int | None) -> str:
    """A human name for cell ``index``: its grade_id when it has one, else its first line."""
    if index is None or not 0 <= index < len(nb.cells):
        return "-"
    cell = nb.cells[index]
    name = grade_id(cell)
    if name:
        return f"cell {index} ({name})"
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return f"cell {index} `{first[:40]}`" if first else f"cell {index}"
