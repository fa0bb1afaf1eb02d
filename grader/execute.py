"""Execute one notebook with papermill: injected parameters, per-cell timeout, errors recorded.

This is the one place that runs notebooks; ``course run`` (batch execution of lectures and
solutions) and ``course autograde`` (student submissions) both call :func:`execute_notebook`.

Papermill runs the notebook through :class:`GradingClient`, its own client with two safeguards
for code nobody has reviewed: output beyond a byte budget is dropped (a notebook that prints a
gigabyte stays a few megabytes), and a cell that ignores the interrupt sent at its time limit
gets its kernel stopped at the next time limit (papermill alone would interrupt it forever). The
partial notebook is saved every few seconds rather than twice per cell.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import papermill
from jupyter_core.utils import ensure_async
from nbclient.exceptions import DeadKernelError
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
from papermill.exceptions import PapermillExecutionError
from papermill.log import logger
from traitlets import Integer

ENGINE = "course-grading"
SAVE_EVERY_SECONDS = 2.0
RUN_METADATA = "course_run"  # notebook metadata the client leaves: {"output_dropped_bytes": n}
IGNORED_INTERRUPT = "the cell ignored the interrupt at its time limit, so its kernel was stopped"


def _output_bytes(msg: dict) -> int:
    """Size of one output message's payload (text, rich data or traceback)."""
    content = msg.get("content", {})
    size = len(content.get("text", ""))
    size += sum(len(value) if isinstance(value, str) else len(str(value))
                for value in content.get("data", {}).values())
    return size + sum(len(line) for line in content.get("traceback", []))


class GradingClient(PapermillNotebookClient):
    """Papermill's client with an output budget and a kernel stop for cells that ignore interrupts."""

    max_output_bytes = Integer(None, allow_none=True, help="output kept per notebook; None keeps all").tag(
        config=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.output_bytes = 0
        self.dropped_bytes = 0
        self._interrupted: set[int] = set()

    def output(self, outs, msg, display_id, cell_index):  # noqa: ANN001, ANN201 (nbclient's signature)
        if self.max_output_bytes is None or msg["msg_type"] not in ("stream", "display_data", "execute_result"):
            return super().output(outs, msg, display_id, cell_index)
        size = _output_bytes(msg)
        if self.output_bytes + size <= self.max_output_bytes and not self.dropped_bytes:
            self.output_bytes += size
            return super().output(outs, msg, display_id, cell_index)
        if not self.dropped_bytes:
            outs.append(nbformat.v4.new_output(
                "stream", name="stdout",
                text=f"\n[output beyond {self.max_output_bytes / (1 << 20):.0f} MiB was dropped by the grader]\n"))
        self.dropped_bytes += size
        self.nb.metadata[RUN_METADATA] = {"output_dropped_bytes": self.dropped_bytes}
        return None

    async def _async_handle_timeout(self, timeout: int, cell: nbformat.NotebookNode | None = None):  # noqa: ANN202
        if id(cell) in self._interrupted:  # a whole time limit after the interrupt: it was ignored
            await ensure_async(self.km.shutdown_kernel(now=True))
            raise DeadKernelError(IGNORED_INTERRUPT)
        self._interrupted.add(id(cell))
        return await super()._async_handle_timeout(timeout, cell)


class _SparingManager(NotebookExecutionManager):
    """Papermill's manager saves the whole notebook when each cell starts and ends; saving at most
    every ``SAVE_EVERY_SECONDS`` (and always at the end, also when the kernel dies) costs a tenth."""

    last_save = -math.inf

    def save(self, **kwargs: Any) -> None:
        if time.monotonic() - self.last_save >= SAVE_EVERY_SECONDS:
            super().save(**kwargs)
            self.last_save = time.monotonic()

    def notebook_complete(self, **kwargs: Any) -> None:
        self.last_save = -math.inf
        super().notebook_complete(**kwargs)


class GradingEngine(NBClientEngine):
    """Papermill engine running :class:`GradingClient` (registered as ``course-grading``)."""

    @classmethod
    def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False,  # noqa: ANN001, ANN206
                         autosave_cell_every=30, **kwargs):
        nb_man = _SparingManager(nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output,
                                 autosave_cell_every=autosave_cell_every)
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, *, start_timeout=60, execution_timeout=None,  # noqa: ANN001, ANN206
                                 input_path=None, **client_options):
        return GradingClient(nb_man, kernel_name=kernel_name, startup_timeout=start_timeout,
                             timeout=execution_timeout, log=logger, **client_options).execute()


papermill_engines.register(ENGINE, GradingEngine)


@dataclass
class ExecutionResult:
    """What running a notebook produced.

    ``error`` is ``None`` when every cell ran without an exception; otherwise it names the first
    failing cell (``failed_cell`` is its index in ``notebook.cells``) and the exception.
    ``crashed`` is true when execution stopped before the end (kernel death, start failure).
    ``dropped_bytes`` counts the output dropped beyond the output budget.
    """

    notebook: nbformat.NotebookNode
    seconds: float
    error: str | None = None
    failed_cell: int | None = None
    crashed: bool = False
    dropped_bytes: int = 0


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
    max_output_bytes: int | None = None,
    scratch: Path | None = None,
) -> ExecutionResult:
    """Run ``nb`` in ``cwd`` with papermill and return the executed notebook.

    With ``allow_errors`` every cell runs even after a failure (grading); without it execution
    stops at the first error (batch runs of lectures). A cell running past ``cell_timeout``
    seconds is interrupted and recorded as an error; the kernel is not killed, so later cells
    still run; a cell that ignores that interrupt has its kernel stopped at its next time limit.
    Output beyond ``max_output_bytes`` is dropped (the bytes dropped are in ``dropped_bytes``).
    Papermill saves the notebook after every cell into ``scratch`` (default ``cwd``), so even a
    run that dies leaves its partial notebook there. Never raises for a failing notebook.
    """
    nb = nbformat.from_dict(nb)
    ensure_parameters_tag(nb)
    output_path = Path(scratch or cwd) / ".executed.ipynb"
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
            engine_name=ENGINE,
            max_output_bytes=max_output_bytes,
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
    dropped = int(executed.metadata.pop(RUN_METADATA, {}).get("output_dropped_bytes", 0))
    return ExecutionResult(executed, seconds, error or summary, index, crashed, dropped)
