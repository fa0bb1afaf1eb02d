"""Sandboxing for running student code: scrubbed environment, resource limits, GPU pinning.

The grader runs each submission in a fresh worker process; the worker scrubs its environment and
lowers its resource limits before it starts the Jupyter kernel, so the kernel (and anything the
student's code starts) inherits both; :mod:`grader.isolation` then takes the network away and
hides the solutions and the grading area where the OS allows it. Memory, process count and disk
use are watched from outside (see :mod:`grader.batch`): RLIMIT_AS would break torch, which
reserves huge address ranges, and RLIMIT_NPROC counts every thread of the user, so it is only a
backstop. A container or cgroup around ``course autograde`` adds hard caps where a machine allows.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

GiB = 1 << 30


@dataclass(frozen=True)
class Limits:
    """Per-submission limits; ``None`` leaves a limit as it is.

    cpu_seconds:   RLIMIT_CPU of the kernel (CPU time summed over its threads, so generous).
    file_size:     RLIMIT_FSIZE, the largest file the student's code may write.
    processes:     processes the kernel may start; with more, all of them are killed. RLIMIT_NPROC is
                   set to the user's current count plus ``NPROC_HEADROOM`` as a backstop.
    memory:        resident memory of the kernel and its children; above it the kernel is killed.
    disk:          bytes under the submission's folder (its working directory, HOME and TMPDIR).
    output_bytes:  output kept in the executed notebook; the rest is dropped.
    wall_seconds:  whole-notebook wall clock; ``None`` = cell timeout x code cells + start-up margin.
    """

    cpu_seconds: int | None = 4 * 3600
    file_size: int | None = 1 * GiB
    processes: int | None = 256
    memory: int | None = None
    disk: int | None = 2 * GiB
    output_bytes: int = 10 << 20
    wall_seconds: float | None = None


NPROC_HEADROOM = 2048


def _nproc_backstop(processes: int | None) -> int | None:
    """RLIMIT_NPROC for a kernel allowed ``processes`` processes: what the user runs now plus headroom."""
    tasks = None if processes is None else _user_tasks()
    return None if tasks is None else tasks + max(NPROC_HEADROOM, 4 * processes)


def _user_tasks() -> int | None:
    """Threads that the current user runs on this machine (what RLIMIT_NPROC counts); None if unknown."""
    try:
        import psutil

        uid = os.getuid()
        total = 0
        for process in psutil.process_iter(["uids", "num_threads"]):
            if process.info["uids"] and process.info["uids"].real == uid:
                total += process.info["num_threads"] or 1
        return total
    except Exception:
        return None


def apply_limits(limits: Limits) -> None:
    """Lower this process's limits (children inherit them). Never raises a limit that is lower."""
    wanted = {
        resource.RLIMIT_CPU: limits.cpu_seconds,
        resource.RLIMIT_FSIZE: limits.file_size,
        getattr(resource, "RLIMIT_NPROC", None): _nproc_backstop(limits.processes),
    }
    for which, value in wanted.items():
        if which is None or value is None:
            continue
        soft, hard = resource.getrlimit(which)
        new_hard = value if hard == resource.RLIM_INFINITY else min(hard, value)
        if which == resource.RLIMIT_CPU and hard == resource.RLIM_INFINITY:
            new_hard = value + 30  # SIGXCPU at the soft limit, SIGKILL 30 s later
        new_soft = min(value, new_hard)
        try:
            resource.setrlimit(which, (new_soft, new_hard))
        except (ValueError, OSError):
            pass  # e.g. a limit the platform does not allow us to set: run without it


PASSED_THROUGH = ("LANG", "LC_ALL", "LC_CTYPE", "PYTHONPATH", "MPLBACKEND", "NLPCOURSE_DATA")


def kernel_environment(home: Path, slot_env: dict[str, str] | None = None) -> dict[str, str]:
    """The whole environment a student's kernel sees: nothing from the instructor's shell but the
    search path, the locale, PYTHONPATH and the course's own settings.

    HOME, TMPDIR and every Jupyter/IPython/matplotlib state folder point into ``home`` (a fresh
    folder per submission), so one submission can neither read the instructor's files through
    them nor leave a startup script behind for the next kernel.
    """
    python_bin = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "/usr/bin:/bin")
    env = {"PATH": path if python_bin in path.split(os.pathsep) else os.pathsep.join([python_bin, path])}
    env.update({name: os.environ[name] for name in PASSED_THROUGH if name in os.environ})
    env.setdefault("LANG", "C.UTF-8")
    env.setdefault("MPLBACKEND", "Agg")
    state = {
        "HOME": home,
        "TMPDIR": home / "tmp",
        "JUPYTER_RUNTIME_DIR": home / ".jupyter" / "runtime",
        "JUPYTER_CONFIG_DIR": home / ".jupyter" / "config",
        "JUPYTER_DATA_DIR": home / ".jupyter" / "data",
        "IPYTHONDIR": home / ".ipython",
        "MPLCONFIGDIR": home / ".matplotlib",
    }
    for name, folder in state.items():
        folder.mkdir(parents=True, exist_ok=True)
        env[name] = str(folder)
    # matplotlib builds its font cache on first import (seconds); start from the instructor's copy
    shared_mpl = os.environ.get("MPLCONFIGDIR")
    if shared_mpl and Path(shared_mpl).is_dir():
        for cache in Path(shared_mpl).glob("fontlist-*.json"):
            shutil.copy(cache, state["MPLCONFIGDIR"] / cache.name)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(slot_env or {})
    return env


def visible_gpus() -> list[str]:
    """GPU ids this machine lets us use: CUDA_VISIBLE_DEVICES when set, else what nvidia-smi lists."""
    pinned = os.environ.get("CUDA_VISIBLE_DEVICES")
    if pinned is not None:
        return [gpu.strip() for gpu in pinned.split(",") if gpu.strip() and gpu.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listed = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
                                capture_output=True, text=True, timeout=20, check=True).stdout
    except (subprocess.SubprocessError, OSError):
        return []
    return [line.strip() for line in listed.splitlines() if line.strip()]


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def thread_limits(workers: int) -> dict[str, str]:
    """BLAS/OpenMP thread counts that give each of ``workers`` parallel kernels its share of the cores."""
    threads = str(max(1, available_cores() // max(1, workers)))
    return {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}


def worker_slots(workers: int | None = None, gpus: list[str] | None = None) -> list[dict[str, str]]:
    """Environment additions of each worker slot; the number of slots is the number of workers.

    With k visible GPUs: k workers by default, slot i pinned to GPU i (more workers than GPUs
    share them round-robin). Without GPUs: one worker per core by default, GPUs hidden, and the
    cores split between workers so torch/BLAS threads do not oversubscribe the machine.
    """
    gpus = visible_gpus() if gpus is None else gpus
    if gpus:
        count = workers or len(gpus)
        return [{"CUDA_VISIBLE_DEVICES": gpus[i % len(gpus)]} for i in range(count)]
    count = workers or available_cores()
    return [{"CUDA_VISIBLE_DEVICES": "", **thread_limits(count)} for _ in range(count)]


def default_memory_limit(workers: int) -> int:
    """A share of the machine's memory per worker (80 % of RAM split evenly), at least 1 GiB."""
    try:
        import psutil

        total = psutil.virtual_memory().total
    except Exception:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return max(GiB, int(total * 0.8) // max(1, workers))


def course_sandbox_paths() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Folders of this machine's course checkout that student code must not see, and must not change.

    Hidden: the solutions, the known-wrong implementations, the git history (it holds the
    solutions too), ``grading/`` and ``build/`` (gradebooks, every student's files, the demo
    class). Read-only: the whole checkout (the course package, its data, the virtual environment
    inside it), so one submission cannot change what the next one imports or reads.
    """
    root = Path(__file__).resolve().parents[1]
    if not (root / "pyproject.toml").exists():  # installed, not a checkout: nothing of the course to hide
        return (), ()
    hidden = [root / name for name in ("solutions", ".git", "grading", "build")] + [root / "grader" / "mistakes"]
    read_only = [root, *([Path(os.environ["NLPCOURSE_DATA"])] if os.environ.get("NLPCOURSE_DATA") else [])]
    return tuple(map(str, hidden)), tuple(map(str, read_only))
