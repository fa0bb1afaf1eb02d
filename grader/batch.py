"""Step 3, execute: run many notebooks in parallel, each in its own sandboxed worker process.

Every notebook gets a fresh worker process (``python -m grader.worker JOB.json``, so nothing of
the caller's state or main module leaks in), a fresh temporary folder holding only a copy of the
notebook and the read-only files it needs, and a scrubbed environment; the worker lowers its
resource limits, isolates itself (:mod:`grader.isolation`: no network, solutions and the grading
area hidden, where the OS allows it) and then runs :func:`grader.execute.execute_notebook`, so
the Jupyter kernel inherits all of it. At most ``len(slots)`` workers run at once; slot ``i``
adds its own environment (GPU pinning, thread counts, see :func:`grader.sandbox.worker_slots`).

The parent watches each worker: past the whole-notebook wall clock, above the memory limit,
with more processes than allowed or more bytes on disk than allowed, it kills the kernel's
process groups (the worker then records a dead kernel and saves what ran), and a worker that does
not finish soon after is killed too. The executed notebook only reaches ``Job.output`` through
the parent. One notebook's failure never stops the others.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from grader.sandbox import Limits, apply_limits, kernel_environment

POLL_SECONDS = 0.2
DISK_POLL_SECONDS = 1.0
GRACE_SECONDS = 20.0
START_MARGIN_SECONDS = 120.0
KERNEL_START_ATTEMPTS = 2
MiB = 1 << 20


@dataclass
class Job:
    """One notebook to execute; ``key`` names it in the outcome (the student id)."""

    key: str
    notebook: Path
    output: Path
    parameters: dict[str, Any]
    cell_timeout: int
    support_dir: Path | None = None  # its non-notebook files are copied, read-only, into the working directory
    hidden: tuple[str, ...] = ()  # folders the kernel must see empty (solutions, the grading area)
    read_only: tuple[str, ...] = ()  # folders the kernel may read but not change (the course's data)


@dataclass
class Outcome:
    """What happened to one job. ``executed`` is true when ``output`` holds a (maybe partial) run.

    ``killed`` says why the parent stopped it (wall clock, memory) or how the worker ended.
    """

    key: str
    executed: bool = False
    seconds: float = 0.0
    error: str | None = None
    crashed: bool = False
    killed: str | None = None
    killed_by: str | None = None  # "wall_clock", "memory", "processes", "disk" or "worker"
    slot: int | None = None
    notes: list[str] = field(default_factory=list)  # e.g. output dropped; the sandbox's own limits


def run_worker(job_file: Path) -> None:
    """Body of the worker process: sandbox itself, run the notebook, write the notebook + a result file."""
    import os

    spec = json.loads(job_file.read_text())
    home = Path(spec["home"])
    env = kernel_environment(home, spec["slot_env"])
    os.environ.clear()
    os.environ.update(env)
    limits = Limits(**spec["limits"])
    apply_limits(limits)
    from grader.isolation import IsolationPlan, isolate

    isolation = isolate(IsolationPlan(hidden=spec["hidden"], read_only=spec["read_only"],
                                      keep=_needed_anyway(home, spec["read_only"])))
    run_dir = home / "work"
    os.chdir(run_dir)

    from grader.execute import execute_notebook

    nb = nbformat.read(home / "input.ipynb", as_version=4)
    for _ in range(KERNEL_START_ATTEMPTS):
        result = execute_notebook(nb, parameters=spec["parameters"], cwd=run_dir, scratch=home,
                                  cell_timeout=spec["cell_timeout"], allow_errors=True,
                                  max_output_bytes=limits.output_bytes)
        if not (result.crashed and _nothing_ran(result.notebook)):
            break  # a kernel that never ran a cell (it did not start) says nothing about the submission
    nbformat.write(result.notebook, home / "output.ipynb")
    notes = list(isolation.notes)
    if result.dropped_bytes:
        notes.append(f"printed {(result.dropped_bytes + limits.output_bytes) / MiB:,.0f} MiB of output; "
                     f"what came after the first {limits.output_bytes / MiB:.0f} MiB was dropped")
    (home / "result.json").write_text(json.dumps(
        {"seconds": result.seconds, "error": result.error, "crashed": result.crashed, "notes": notes}))


def _needed_anyway(home: Path, read_only: list[str]) -> list[Path]:
    """Folders that stay visible inside a hidden one (e.g. a course checked out under the hidden
    temporary folder): the job's own folder, the read-only course, and what Python runs from."""
    python = [sys.prefix, sys.base_prefix, *(entry for entry in sys.path if entry and os.path.isdir(entry))]
    grader = Path(__file__).resolve().parents[1]  # the course checkout, or site-packages
    return [home, grader, *map(Path, read_only), *map(Path, python)]


def _nothing_ran(nb: nbformat.NotebookNode) -> bool:
    return all(cell.get("execution_count") is None for cell in nb.cells if cell.cell_type == "code")


def _prepare_home(job: Job) -> Path:
    """A fresh folder: the notebook to run, and ``work/`` with read-only copies of its support files."""
    home = Path(tempfile.mkdtemp(prefix=f"grade-{job.key}-", dir=sandbox_parent()))
    (home / "work").mkdir()
    shutil.copyfile(job.notebook, home / "input.ipynb")
    if job.support_dir and job.support_dir.is_dir():
        for item in job.support_dir.iterdir():
            if item.suffix != ".ipynb" and not item.name.startswith("."):
                copy = shutil.copytree if item.is_dir() else shutil.copy
                copy(item, home / "work" / item.name)
                _make_read_only(home / "work" / item.name)
    return home


def sandbox_parent() -> Path:
    """Where every job's folder is made. The whole temporary folder is hidden from each kernel but
    for its own job folder, so no kernel sees another student's (running) notebook."""
    parent = Path(tempfile.gettempdir()) / "course-sandboxes"
    parent.mkdir(mode=0o700, exist_ok=True)
    return parent


def _make_read_only(path: Path) -> None:
    targets = [path, *path.rglob("*")] if path.is_dir() else [path]
    for target in reversed(targets):  # files before the folders holding them
        mode = target.stat().st_mode
        target.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _start(job: Job, home: Path, slot_env: dict[str, str], limits: Limits) -> subprocess.Popen:
    spec = {"home": str(home), "slot_env": slot_env, "limits": asdict(limits), "parameters": job.parameters,
            "cell_timeout": job.cell_timeout, "hidden": [*job.hidden, tempfile.gettempdir()],
            "read_only": list(job.read_only)}
    job_file = home / "job.json"
    job_file.write_text(json.dumps(spec))
    log = open(home / "worker.log", "wb")
    try:
        return subprocess.Popen([sys.executable, "-m", "grader.worker", str(job_file)], stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=home)
    finally:
        log.close()


@dataclass
class _Running:
    job: Job
    process: subprocess.Popen
    home: Path
    started: float
    deadline: float
    slot: int
    killed: str | None = None
    killed_by: str | None = None
    kill_after: float | None = None
    disk_checked: float = 0.0


def _descendants(pid: int) -> list:
    try:
        import psutil

        return psutil.Process(pid).children(recursive=True)
    except Exception:
        return []


def _kill_tree(processes: list) -> None:
    """Kill ``processes`` and every process group they lead or belong to (a fork bomb's copies
    all share the kernel's group, so one signal reaches the ones not yet listed), never our own."""
    own = os.getpgrp()
    groups = set()
    for process in processes:
        try:
            groups.add(os.getpgid(process.pid))
        except OSError:
            pass
    for group in groups - {own}:
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
    for process in processes:
        try:
            process.kill()
        except Exception:
            pass


def disk_usage(folder: Path) -> int:
    """Bytes allocated on disk under ``folder`` (sparse files count what they really use)."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
    return total


def _resident_bytes(processes: list) -> int:
    """Memory of ``processes`` together: resident size for one, proportional set sizes for several
    (forked copies share most of their pages; adding up resident sizes would count them again)."""
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss if len(processes) == 1 else process.memory_full_info().pss
        except Exception:
            pass
    return total


def wall_limit(job: Job, limits: Limits) -> float:
    """The whole-notebook wall clock: every code cell may use its full timeout, plus start-up."""
    if limits.wall_seconds is not None:
        return limits.wall_seconds
    try:
        code_cells = sum(cell.cell_type == "code" for cell in nbformat.read(job.notebook, as_version=4).cells)
    except Exception:
        code_cells = 1
    return job.cell_timeout * (code_cells + 1) + START_MARGIN_SECONDS


def run_jobs(jobs: list[Job], slots: list[dict[str, str]], limits: Limits, *, progress: bool = True,
             description: str = "execute", on_done: Callable[[Job, Outcome], None] | None = None
             ) -> dict[str, Outcome]:
    """Execute ``jobs`` with at most ``len(slots)`` at a time; one :class:`Outcome` per job key.

    ``on_done(job, outcome)`` runs in this thread as soon as each job ends (e.g. to grade it while
    the others still run, or to record it so an interrupted batch can resume).
    """
    from tqdm import tqdm

    pending = list(jobs)
    running: dict[int, _Running] = {}
    outcomes: dict[str, Outcome] = {}
    bar = tqdm(total=len(jobs), desc=description, unit="nb", disable=not progress, leave=True)
    try:
        while pending or running:
            _fill_free_slots(pending, running, slots, limits)
            time.sleep(POLL_SECONDS)
            ended = [run for run in running.values() if _check(run, limits)]
            for run in ended:
                outcomes[run.job.key] = _finish(run)
                del running[run.slot]
            _fill_free_slots(pending, running, slots, limits)  # before grading: no slot waits for it
            for run in ended:
                bar.update(1)
                if on_done is not None:
                    on_done(run.job, outcomes[run.job.key])
    finally:
        for run in running.values():  # interrupted: leave no kernels behind
            _kill_tree(_descendants(run.process.pid))
            run.process.kill()
            _remove(run.home)
        bar.close()
    return outcomes


def _fill_free_slots(pending: list[Job], running: dict[int, _Running], slots: list[dict[str, str]],
                     limits: Limits) -> None:
    """Start the next pending jobs in every free slot."""
    for slot in range(len(slots)):
        if slot in running or not pending:
            continue
        job = pending.pop(0)
        job.output.unlink(missing_ok=True)  # never mistake an earlier run's notebook for this one
        home = _prepare_home(job)
        now = time.monotonic()
        process = _start(job, home, slots[slot], limits)
        running[slot] = _Running(job, process, home, now, now + wall_limit(job, limits), slot)


def _check(run: _Running, limits: Limits) -> bool:
    """Watch one worker; return True once it has ended (on its own or killed)."""
    if run.process.poll() is not None:
        return True
    now = time.monotonic()
    if run.kill_after is not None:
        if now > run.kill_after:
            _kill_tree(_descendants(run.process.pid))
            run.process.kill()
            run.process.wait(5)
            return True
        return False
    kernel = _descendants(run.process.pid)
    if now > run.deadline:
        run.killed = f"the notebook ran past its whole-run limit of {run.deadline - run.started:.0f} s and was stopped"
        run.killed_by = "wall_clock"
    elif limits.processes is not None and len(kernel) > limits.processes + 1:  # +1: the kernel itself
        run.killed = f"the notebook started more than {limits.processes} processes and was stopped"
        run.killed_by = "processes"
    elif limits.memory is not None and _resident_bytes(kernel) > limits.memory:
        run.killed = f"the kernel used more than {limits.memory / (1 << 30):.1f} GiB of memory and was stopped"
        run.killed_by = "memory"
    elif limits.disk is not None and now - run.disk_checked > DISK_POLL_SECONDS:
        run.disk_checked = now
        if disk_usage(run.home) > limits.disk:
            run.killed = f"the notebook wrote more than {limits.disk / MiB:,.0f} MiB to disk and was stopped"
            run.killed_by = "disk"
    if run.killed:
        _kill_tree(kernel)  # the worker sees a dead kernel and saves what ran
        run.kill_after = now + GRACE_SECONDS
    return False


def _finish(run: _Running) -> Outcome:
    try:
        run.process.wait(5)
    except subprocess.TimeoutExpired:
        run.process.kill()
    _kill_tree(_descendants(run.process.pid))  # whatever the notebook left running
    outcome = Outcome(run.job.key, seconds=time.monotonic() - run.started, killed=run.killed,
                      killed_by=run.killed_by, slot=run.slot)
    result_file = run.home / "result.json"
    run.job.output.parent.mkdir(parents=True, exist_ok=True)
    if result_file.exists() and (run.home / "output.ipynb").exists():
        result = json.loads(result_file.read_text())
        shutil.move(run.home / "output.ipynb", run.job.output)
        outcome.executed = True
        outcome.seconds = result["seconds"]
        outcome.error = result["error"]
        outcome.crashed = bool(result["crashed"])
        outcome.notes = result["notes"]
    else:
        # the worker itself died: keep the partial notebook papermill saves after every cell
        partial = run.home / ".executed.ipynb"
        if partial.exists():
            try:
                nbformat.write(nbformat.read(partial, as_version=4), run.job.output)
                outcome.executed = True
            except Exception:
                pass
        outcome.crashed = True
        code = run.process.returncode
        if not outcome.killed:
            last = _tail(run.home / "worker.log")
            outcome.killed = f"the grading worker ended unexpectedly (exit code {code}{': ' + last if last else ''})"
            outcome.killed_by = "worker"
    _remove(run.home)
    return outcome


def _remove(home: Path) -> None:
    """Delete a job's folder, read-only copies included (a folder must be writable to empty it)."""
    for root, folders, _files in os.walk(home):
        for name in folders:
            try:
                os.chmod(os.path.join(root, name), 0o700)
            except OSError:
                pass
    shutil.rmtree(home, ignore_errors=True)


def _tail(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1].strip()[:200] if lines else ""

