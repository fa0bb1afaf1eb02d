"""Execute one notebook with papermill: injected parameters, per-cell timeout, errors recorded.

This is the one place that runs notebooks; ``course run`` (batch execution of lectures and
solutions) and ``course autograde`` (student submissions) both call :func:`execute_notebook`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import papermill
from papermill.exceptions import PapermillExecutionError


@dataclass
class ExecutionResult:
    """What running a notebook produced.

    ``error`` is ``None`` when every cell ran without an exception; otherwise it names the first
    failing cell (``failed_cell`` is its index in ``notebook.cells``) and the exception.
    ``crashed`` is true when execution stopped before the end (kernel death, start failure).
    """

    notebook: nbformat.NotebookNode
    seconds: float
    error: str | None = None
    failed_cell: int | None = None
    crashed: bool = False


def ensure_parameters_tag(nb: nbformat.NotebookNode) -> None:
    """Make sure the first code cell defining ``PROFILE`` carries papermill's ``parameters`` tag.

    A student may drop the tag by accident; without it papermill would inject the parameters at the
    top and the notebook's own ``PROFILE = "full"`` would silently win.
    """
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            return
    for cell in nb.cells:
        if cell.cell_type == "code" and "PROFILE" in cell.source:
            cell.metadata.setdefault("tags", []).append("parameters")
            return


def first_error(nb: nbformat.NotebookNode) -> tuple[int | None, str | None]:
    """Index and one-line summary of the first cell whose outputs hold an error."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") == "error":
                return index, f"cell {index}: {output.get('ename')}: {output.get('evalue')}"
    return None, None


def execute_notebook(
    nb: nbformat.NotebookNode,
    *,
    parameters: dict[str, Any],
    cwd: Path,
    cell_timeout: int | None = None,
    allow_errors: bool = False,
    kernel_name: str = "python3",
    start_timeout: int = 60,
) -> ExecutionResult:
    """Run ``nb`` in ``cwd`` with papermill and return the executed notebook.

    With ``allow_errors`` every cell runs even after a failure (grading); without it execution
    stops at the first error (batch runs of lectures). A cell running past ``cell_timeout``
    seconds is interrupted and recorded as an error; the kernel is not killed, so later cells
    still run. Never raises for a failing notebook: the outcome is in the result.
    """
    nb = nbformat.from_dict(nb)
    ensure_parameters_tag(nb)
    output_path = Path(cwd) / ".executed.ipynb"
    started = time.perf_counter()
    try:
        papermill.execute_notebook(
            nb,
            str(output_path),
            parameters=parameters,
            kernel_name=kernel_name,
            cwd=str(cwd),
            progress_bar=False,
            start_timeout=start_timeout,
            execution_timeout=cell_timeout,
            allow_errors=allow_errors,
            interrupt_on_timeout=True,
            raise_on_iopub_timeout=False,
        )
        error, crashed = None, False
    except PapermillExecutionError as exc:
        error, crashed = f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}", False
    except Exception as exc:  # kernel death, failed start: record it, never lose the batch
        error, crashed = f"{type(exc).__name__}: {exc}", True
    seconds = time.perf_counter() - started
    # papermill saves after every cell, so even an interrupted run leaves its partial notebook here
    executed = nbformat.read(output_path, as_version=4) if output_path.exists() else nb
    output_path.unlink(missing_ok=True)
    index, summary = first_error(executed)
    return ExecutionResult(executed, seconds, error or summary, index, crashed)
