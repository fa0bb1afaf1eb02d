"""Step 3, execute: run many notebooks in parallel, each in its own sandboxed worker process.

Every notebook gets a fresh worker process (``python -m grader.batch JOB.json``, so nothing of
the caller's state or main module leaks in), a fresh temporary working directory and a scrubbed
environment; the worker lowers its resource limits and then runs
:func:`grader.execute.execute_notebook`, so the Jupyter kernel inherits all of it. At most
``len(slots)`` workers run at once; slot ``i`` adds its own environment (GPU pinning, thread
counts, see :func:`grader.sandbox.worker_slots`).

The parent watches each worker: past the whole-notebook wall clock or above the memory limit it
kills the kernel (the worker then records a dead kernel and saves what ran), and a worker that
does not finish soon after is killed too. One notebook's failure never stops the others.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import nbformat

from grader.sandbox import Limits, apply_limits, kernel_environment

POLL_SECONDS = 0.2
GRACE_SECONDS = 20.0
START_MARGIN_SECONDS = 120.0


@dataclass
class Job:
    """One notebook to execute; ``key`` names it in the outcome (the student id)."""

    key: str
    notebook: Path
    output: Path
    parameters: dict[str, Any]
    cell_timeout: int
    support_dir: Path | None = None  # its non-notebook files are copied into the working directory


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
    killed_by: str | None = None  # "wall_clock", "memory" or "worker"
    slot: int | None = None


def _worker(job_file: Path) -> None:
    """Body of the worker process: sandbox itself, run the notebook, write the notebook + a result file."""
    import os

    spec = json.loads(job_file.read_text())
    home = Path(spec["home"])
    env = kernel_environment(home, spec["slot_env"])
    os.environ.clear()
    os.environ.update(env)
    apply_limits(Limits(**spec["limits"]))
    run_dir = home / "work"
    os.chdir(run_dir)

    from grader.execute import execute_notebook

    output = Path(spec["output"])
    nb = nbformat.read(spec["notebook"], as_version=4)
    result = execute_notebook(nb, parameters=spec["parameters"], cwd=run_dir,
                              cell_timeout=spec["cell_timeout"], allow_errors=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(result.notebook, output)
    (home / "result.json").write_text(json.dumps(
        {"seconds": result.seconds, "error": result.error, "crashed": result.crashed}))


def _start(job: Job, home: Path, slot_env: dict[str, str], limits: Limits) -> subprocess.Popen:
    spec = {"home": str(home), "slot_env": slot_env, "limits": asdict(limits), "notebook": str(job.notebook),
            "output": str(job.output), "parameters": job.parameters, "cell_timeout": job.cell_timeout}
    job_file = home / "job.json"
    job_file.write_text(json.dumps(spec))
    log = open(home / "worker.log", "wb")
    try:
        return subprocess.Popen([sys.executable, "-m", "grader.batch", str(job_file)], stdout=log,
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


def _descendants(pid: int) -> list:
    try:
        import psutil

        return psutil.Process(pid).children(recursive=True)
    except Exception:
        return []


def _kill_tree(processes: list) -> None:
    for process in processes:
        try:
            process.kill()
        except Exception:
            pass


def _resident_bytes(processes: list) -> int:
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
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
             description: str = "execute") -> dict[str, Outcome]:
    """Execute ``jobs`` with at most ``len(slots)`` at a time; one :class:`Outcome` per job key."""
    from tqdm import tqdm

    pending = list(jobs)
    running: dict[int, _Running] = {}
    outcomes: dict[str, Outcome] = {}
    bar = tqdm(total=len(jobs), desc=description, unit="nb", disable=not progress, leave=True)
    try:
        while pending or running:
            for slot in range(len(slots)):
                if slot in running or not pending:
                    continue
                job = pending.pop(0)
                job.output.unlink(missing_ok=True)  # never mistake an earlier run's notebook for this one
                home = Path(tempfile.mkdtemp(prefix=f"grade-{job.key}-"))
                (home / "work").mkdir()
                if job.support_dir and job.support_dir.is_dir():
                    for item in job.support_dir.iterdir():
                        if item.suffix != ".ipynb" and not item.name.startswith("."):
                            copy = shutil.copytree if item.is_dir() else shutil.copy
                            copy(item, home / "work" / item.name)
                now = time.monotonic()
                process = _start(job, home, slots[slot], limits)
                running[slot] = _Running(job, process, home, now, now + wall_limit(job, limits), slot)
            time.sleep(POLL_SECONDS)
            for slot, run in list(running.items()):
                done = _check(run, limits)
                if done:
                    outcomes[run.job.key] = _finish(run)
                    del running[slot]
                    bar.update(1)
    finally:
        for run in running.values():  # interrupted: leave no kernels behind
            _kill_tree(_descendants(run.process.pid))
            run.process.kill()
            shutil.rmtree(run.home, ignore_errors=True)
        bar.close()
    return outcomes


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
    elif limits.memory is not None and _resident_bytes(kernel) > limits.memory:
        run.killed = f"the kernel used more than {limits.memory / (1 << 30):.1f} GiB of memory and was stopped"
        run.killed_by = "memory"
    if run.killed:
        _kill_tree(kernel)  # the worker sees a dead kernel and saves what ran
        run.kill_after = now + GRACE_SECONDS
    return False


def _finish(run: _Running) -> Outcome:
    try:
        run.process.wait(5)
    except subprocess.TimeoutExpired:
        run.process.kill()
    outcome = Outcome(run.job.key, seconds=time.monotonic() - run.started, killed=run.killed,
                      killed_by=run.killed_by, slot=run.slot)
    result_file = run.home / "result.json"
    if result_file.exists() and run.job.output.exists():
        result = json.loads(result_file.read_text())
        outcome.executed = True
        outcome.seconds = result["seconds"]
        outcome.error = result["error"]
        outcome.crashed = bool(result["crashed"])
    else:
        # the worker itself died: keep the partial notebook papermill saves after every cell
        partial = run.home / "work" / ".executed.ipynb"
        if partial.exists():
            try:
                nb = nbformat.read(partial, as_version=4)
                run.job.output.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, run.job.output)
                outcome.executed = True
            except Exception:
                pass
        outcome.crashed = True
        code = run.process.returncode
        if not outcome.killed:
            last = _tail(run.home / "worker.log")
            outcome.killed = f"the grading worker ended unexpectedly (exit code {code}{': ' + last if last else ''})"
            outcome.killed_by = "worker"
    shutil.rmtree(run.home, ignore_errors=True)
    return outcome


def _tail(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1].strip()[:200] if lines else ""


if __name__ == "__main__":
    _worker(Path(sys.argv[1]))
