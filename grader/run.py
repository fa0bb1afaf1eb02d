"""``course run``: execute a batch of notebooks with papermill and report each one's outcome.

Each notebook runs in its own temporary working directory (the notebooks find their data through
``nlpcourse``), in a local pool of worker processes: one per CPU core, or one per GPU with each
worker pinned to its GPU through ``CUDA_VISIBLE_DEVICES``. A notebook stops at its first error;
the others go on. Executed copies go to ``--out`` (mirroring the input paths) with a
``report.json``; the exit code is 1 when any notebook failed.

A cell tagged ``metrics`` whose last output is a dict (JSON or a Python literal) has that dict
copied into the report, e.g. ``{"accuracy": 0.77}``.
"""

from __future__ import annotations

import argparse
import ast
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from grader.assignments import CONFIG_FILE, CourseError, notebooks_under
from grader.sandbox import thread_limits, visible_gpus

PASSED, FAILED, CRASHED = "passed", "failed", "crashed"


@dataclass
class RunOutcome:
    """One notebook's result: ``status`` is passed, failed (a cell raised) or crashed (the
    kernel died or never started, or the notebook could not be read)."""

    notebook: str
    status: str
    seconds: float
    output: str | None = None
    failed_cell: int | None = None
    failed_cell_name: str | None = None
    error: str | None = None
    traceback: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    source: Path
    relative: Path


def collect(paths: list[str]) -> list[Task]:
    """Notebooks named by ``paths`` (files, or folders searched recursively), each with the
    relative path its executed copy gets under ``--out``."""
    cwd = Path.cwd().resolve()
    tasks: dict[Path, Task] = {}
    for raw in paths:
        path = Path(raw).resolve()
        if not path.exists():
            raise CourseError(f"{raw}: no such file or folder")
        if path.is_file() and path.suffix != ".ipynb":
            raise CourseError(f"{raw}: not a notebook (.ipynb)")
        base = cwd if path.is_relative_to(cwd) else path.parent
        for notebook in notebooks_under(path):
            tasks.setdefault(notebook, Task(notebook, notebook.relative_to(base)))
    if not tasks:
        raise CourseError(f"no notebooks found in {', '.join(paths)}")
    return sorted(tasks.values(), key=lambda task: task.relative.as_posix())


def extract_metrics(nb: Any) -> dict[str, Any]:
    """Merge the dicts shown last by cells tagged ``metrics``."""
    found: dict[str, Any] = {}
    for cell in nb.cells:
        if cell.cell_type != "code" or "metrics" not in cell.metadata.get("tags", []):
            continue
        for output in reversed(cell.get("outputs", [])):
            data = output.get("data", {})
            value: Any = None
            if "application/json" in data:
                value = data["application/json"]
                value = json.loads(value) if isinstance(value, str) else value
            elif "text/plain" in data:
                try:
                    value = ast.literal_eval(data["text/plain"])
                except (ValueError, SyntaxError):
                    value = None
            if isinstance(value, dict):
                found.update({str(k): v for k, v in value.items()})
                break
    return found


_WORKER_GPU: list[str] = []


def _init_worker(gpus: Any, threads: dict[str, str]) -> None:
    """Pin this worker process (and the kernels it starts) to one GPU from the shared queue, and set
    its kernels' BLAS/OpenMP threads (unless the caller set them) so that parallel notebooks do not
    oversubscribe the cores."""
    for variable, value in threads.items():
        os.environ.setdefault(variable, value)
    if gpus is not None:
        gpu = gpus.get()
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
        _WORKER_GPU[:] = [gpu]


def run_one(task: Task, profile: str, device: str, parameters: dict[str, Any], out: Path,
            timeout: int | None) -> RunOutcome:
    """Execute one notebook in a fresh temporary directory; never raises."""
    import nbformat

    from grader import cells
    from grader.execute import execute_notebook

    started = time.perf_counter()
    notebook = task.relative.as_posix()
    try:
        nb = nbformat.read(task.source, as_version=4)
    except Exception as exc:
        return RunOutcome(notebook, CRASHED, time.perf_counter() - started, error=f"cannot read: {exc}")
    with tempfile.TemporaryDirectory(prefix="course-run-") as workdir:
        result = execute_notebook(
            nb, parameters={"PROFILE": profile, "DEVICE": device, **parameters},
            cwd=Path(workdir), cell_timeout=timeout,
        )
    target = out / task.relative
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(result.notebook, target)
    status = CRASHED if result.crashed else FAILED if result.error else PASSED
    outcome = RunOutcome(notebook, status, round(result.seconds, 2), output=str(target), error=result.error,
                         metrics=extract_metrics(result.notebook))
    if result.failed_cell is not None:
        failed = result.notebook.cells[result.failed_cell]
        # report the cell as numbered in the notebook the author wrote, not papermill's copy
        outcome.failed_cell = cells.source_index(result.notebook, result.failed_cell)
        outcome.failed_cell_name = cells.label(nb, outcome.failed_cell)
        outcome.error = cells.describe_error(failed) or result.error
        outcome.traceback = cells.traceback_text(failed)
    return outcome


def run_notebooks(tasks: list[Task], *, profile: str, device: str = "auto", workers: int | None = None,
                  out: Path, timeout: int | None = None, parameters: dict[str, Any] | None = None,
                  progress: bool = True) -> list[RunOutcome]:
    """Execute ``tasks`` in a process pool; results in the order of ``tasks``."""
    parameters = dict(parameters or {})
    gpus = [] if device == "cpu" else visible_gpus()
    if workers is None:
        workers = len(gpus) or os.cpu_count() or 1
    workers = max(1, min(workers, len(tasks)))
    out.mkdir(parents=True, exist_ok=True)
    outcomes: dict[Task, RunOutcome] = {}
    bar = tqdm(total=len(tasks), desc="run", unit="notebook", disable=not progress)
    if workers == 1:
        for task in tasks:
            outcomes[task] = run_one(task, profile, device, parameters, out, timeout)
            bar.update()
    else:
        context = multiprocessing.get_context("spawn")
        queue = None
        if gpus:
            queue = context.Manager().Queue()
            for index in range(workers):
                queue.put(gpus[index % len(gpus)])
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                 initargs=(queue, thread_limits(workers))) as pool:
            futures = {pool.submit(run_one, task, profile, device, parameters, out, timeout): task for task in tasks}
            for future in as_completed(futures):
                task = futures[future]
                try:
                    outcomes[task] = future.result()
                except Exception as exc:  # a worker process died: record it for this notebook only
                    outcomes[task] = RunOutcome(task.relative.as_posix(), CRASHED, 0.0,
                                                error=f"worker failed: {type(exc).__name__}: {exc}")
                bar.update()
    bar.close()
    return [outcomes[task] for task in tasks]


def _shorten(text: str | None, width: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(outcomes: list[RunOutcome]) -> str:
    header = ("notebook", "status", "seconds", "first failing cell")
    rows = [(o.notebook, o.status, f"{o.seconds:.1f}",
             _shorten(f"{o.failed_cell_name}: {o.error}" if o.failed_cell_name else o.error or "", 70))
            for o in outcomes]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(4)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()
             for row in [header, tuple("-" * w for w in widths), *rows]]
    for outcome in outcomes:
        if outcome.metrics:
            shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in outcome.metrics.items())
            lines.append(f"metrics {outcome.notebook}: {shown}")
    return "\n".join(lines)


def _parameter(text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def _default_out() -> Path:
    """``runs/<timestamp>/`` in the course root when run inside a course, else in the working directory."""
    here = Path.cwd().resolve()
    base = next((folder for folder in (here, *here.parents) if (folder / CONFIG_FILE).is_file()), here)
    return base / "runs" / datetime.now().strftime("%Y%m%d-%H%M%S")


def run(args: argparse.Namespace) -> int:
    try:
        tasks = collect(args.paths)
    except CourseError as exc:
        print(f"course run: error: {exc}", file=sys.stderr)
        return 2
    if args.workers is not None and args.workers < 1:
        print("course run: error: --workers must be at least 1", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else _default_out()
    started = datetime.now().astimezone()
    outcomes = run_notebooks(tasks, profile=args.profile, device=args.device, workers=args.workers, out=out,
                             timeout=args.timeout, parameters=dict(args.parameter or []), progress=not args.quiet)
    report = {
        "started": started.isoformat(timespec="seconds"),
        "profile": args.profile,
        "device": args.device,
        "parameters": dict(args.parameter or []),
        "passed": sum(o.status == PASSED for o in outcomes),
        "failed": sum(o.status != PASSED for o in outcomes),
        "notebooks": [asdict(o) for o in outcomes],
    }
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    print(format_table(outcomes))
    for outcome in outcomes:
        if outcome.status != PASSED and outcome.traceback:
            print(f"\n--- {outcome.notebook}, {outcome.failed_cell_name} ---\n{outcome.traceback}", file=sys.stderr)
    print(f"\n{report['passed']} passed, {report['failed']} failed; executed notebooks and report.json in {out}")
    return 0 if report["failed"] == 0 else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="execute notebooks with papermill and report outcome, time and metrics",
        description=textwrap.fill(
            "Execute notebooks (files, or folders searched recursively) with papermill, injecting "
            "PROFILE and DEVICE, each in its own temporary working directory, in parallel. A notebook "
            "stops at its first error and the others continue. Executed copies and report.json go to "
            "--out; exit status 1 when any notebook failed."
        ),
        epilog="examples:\n  course run lectures solutions --profile smoke\n"
               "  course run lectures/03_rnn_bptt --profile full --device cuda --workers 2 --out runs/gpu",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="notebook or folder (searched recursively)")
    parser.add_argument("--profile", default="smoke",
                        help="value injected as PROFILE: smoke (CI size), full (what students run), or a "
                             "notebook's own extra profile such as paper (default: smoke)")
    parser.add_argument("--device", default="auto", help="value injected as DEVICE: auto, cpu, cuda or cuda:N (default: auto)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="notebooks run at once (default: one per GPU, else one per CPU core)")
    parser.add_argument("--out", metavar="DIR", help="where executed notebooks and report.json go (default: runs/<timestamp>/)")
    parser.add_argument("--timeout", type=int, metavar="S", help="per-cell time limit in seconds (default: none)")
    parser.add_argument("-p", "--parameter", action="append", type=_parameter, metavar="NAME=VALUE",
                        help="extra papermill parameter (VALUE read as JSON when it parses, else a string); repeatable")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
