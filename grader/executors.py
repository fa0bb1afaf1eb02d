"""Where the notebooks of a class run: ``local`` (a process pool here) or ``dask`` (a cluster).

Both take the same :class:`grader.batch.Job` list and give the same :class:`grader.batch.Outcome`
per job, so grading does not care which ran them.

``local``   :func:`grader.batch.run_jobs` on this machine: with k visible GPUs, k workers each pinned
            to one GPU with ``CUDA_VISIBLE_DEVICES`` (one notebook per GPU at a time); without, one
            worker per core, each with its share of the cores for BLAS/OpenMP threads.
``dask``    a ``dask.distributed`` cluster the instructor runs (``--scheduler tcp://HOST:PORT``, e.g.
            started with dask-jobqueue on SLURM), or a local one when no scheduler is given. A task
            carries the notebook's JSON, its support files and its parameters and returns the
            executed notebook, so workers need the course installed but no shared filesystem. A
            worker with GPUs declares them as the Dask resource ``GPU`` (``dask worker ...
            --resources GPU=2``); each task then asks for ``GPU=1`` and its kernel is pinned to one
            of the worker's visible GPUs that no other task of that worker is using. On the
            worker, each task runs through :func:`grader.batch.run_jobs` with one slot, so the
            sandbox, the limits and the watching are the same as with ``local``.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from grader.batch import Job, Outcome, run_jobs
from grader.sandbox import Limits, available_cores, thread_limits, visible_gpus, worker_slots

EXECUTORS = ("local", "dask")
GPU_RESOURCE = "GPU"


class Executor(Protocol):
    """Runs jobs and reports each one as it ends; ``size`` is how many run at once."""

    size: int

    def describe(self) -> str: ...

    def run(self, jobs: list[Job], limits: Limits, *, progress: bool = True,
            on_done: Callable[[Job, Outcome], None] | None = None) -> dict[str, Outcome]: ...

    def close(self) -> None: ...


class LocalExecutor:
    """A pool of sandboxed worker processes on this machine (see :func:`grader.sandbox.worker_slots`)."""

    def __init__(self, workers: int | None = None, gpus: list[str] | None = None) -> None:
        self.gpus = visible_gpus() if gpus is None else gpus
        self.slots = worker_slots(workers, self.gpus)
        self.size = len(self.slots)

    def describe(self) -> str:
        if self.gpus:
            pinned = ", ".join(slot["CUDA_VISIBLE_DEVICES"] for slot in self.slots)
            return f"executor local: {self.size} workers pinned to GPUs {pinned}"
        return (f"executor local: {self.size} workers on the CPU, "
                f"{self.slots[0]['OMP_NUM_THREADS']} thread(s) each")

    def run(self, jobs: list[Job], limits: Limits, *, progress: bool = True,
            on_done: Callable[[Job, Outcome], None] | None = None) -> dict[str, Outcome]:
        return run_jobs(jobs, self.slots, limits, progress=progress, on_done=on_done)

    def close(self) -> None:
        pass


class DaskExecutor:
    """Jobs as tasks on a ``dask.distributed`` cluster: the given scheduler, or a local cluster."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None) -> None:
        from distributed import Client, LocalCluster

        self.cluster = None
        if scheduler:
            self.client = Client(scheduler, timeout="30s")
        else:
            self.cluster = LocalCluster(n_workers=workers or available_cores(), threads_per_worker=1,
                                        processes=True, dashboard_address=":0", silence_logs=logging.ERROR)
            self.client = Client(self.cluster)
        info = self.client.scheduler_info(n_workers=-1)["workers"].values()
        self.size = sum(worker.get("nthreads", 1) for worker in info) or 1
        self.host_threads: dict[str, int] = {}  # tasks that may run at once on each machine
        for worker in info:
            host = worker["host"]
            self.host_threads[host] = self.host_threads.get(host, 0) + worker.get("nthreads", 1)
        self.gpus = sum(worker.get("resources", {}).get(GPU_RESOURCE, 0) for worker in info)
        self.address = self.client.scheduler.address

    def describe(self) -> str:
        where = "a local cluster" if self.cluster is not None else "the cluster"
        gpus = f", {self.gpus:g} GPUs (one per notebook)" if self.gpus else ", no GPU resources (CPU only)"
        return f"executor dask: {where} at {self.address}, {self.size} worker threads{gpus}"

    def run(self, jobs: list[Job], limits: Limits, *, progress: bool = True,
            on_done: Callable[[Job, Outcome], None] | None = None) -> dict[str, Outcome]:
        from distributed import as_completed
        from tqdm import tqdm

        resources = {GPU_RESOURCE: 1} if self.gpus else None
        futures = {self.client.submit(execute_remotely, job_payload(job, limits, self.host_threads),
                                      resources=resources, key=f"grade-{job.key}-{uuid.uuid4().hex[:8]}",
                                      pure=False): job
                   for job in jobs}
        outcomes: dict[str, Outcome] = {}
        with tqdm(total=len(jobs), desc="execute", unit="nb", disable=not progress) as bar:
            for future in as_completed(futures):
                job = futures[future]
                outcomes[job.key] = _receive(job, future)
                future.release()
                bar.update(1)
                if on_done is not None:
                    on_done(job, outcomes[job.key])
        return outcomes

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_executor(name: str = "local", *, workers: int | None = None, scheduler: str | None = None,
                  gpus: list[str] | None = None) -> Executor:
    """The executor ``name`` ("local" or "dask"); raises ValueError for another name."""
    if name == "local":
        if scheduler:
            raise ValueError("--scheduler needs --executor dask")
        return LocalExecutor(workers, gpus)
    if name == "dask":
        return DaskExecutor(scheduler, workers)
    raise ValueError(f"unknown executor {name!r}: choose one of {', '.join(EXECUTORS)}")


def _receive(job: Job, future: Any) -> Outcome:
    """The outcome of one finished task; its executed notebook is written to ``job.output``."""
    try:
        reply = future.result()
    except Exception as exc:  # the worker was lost, or the task could not run there
        return Outcome(job.key, crashed=True, killed=f"the Dask task failed ({type(exc).__name__}: {exc})",
                       killed_by="worker")
    if reply["notebook"] is not None:
        job.output.parent.mkdir(parents=True, exist_ok=True)
        job.output.write_text(reply["notebook"], encoding="utf-8")
    return Outcome(**reply["outcome"])


def job_payload(job: Job, limits: Limits, host_threads: dict[str, int] | None = None) -> dict[str, Any]:
    """Everything a remote worker needs to run ``job``, with no path of this machine to follow.

    ``host_threads``: how many tasks may run at once on each machine of the cluster, so that a
    kernel takes its share of its machine's cores for BLAS/OpenMP threads (oversubscribed OpenMP
    threads slow torch down several times)."""
    support: dict[str, bytes] = {}
    if job.support_dir and job.support_dir.is_dir():
        for path in sorted(job.support_dir.rglob("*")):
            relative = path.relative_to(job.support_dir)
            if path.is_file() and path.suffix != ".ipynb" and not relative.parts[0].startswith("."):
                support[relative.as_posix()] = path.read_bytes()
    return {"key": job.key, "notebook": Path(job.notebook).read_text(encoding="utf-8"), "support": support,
            "parameters": job.parameters, "cell_timeout": job.cell_timeout, "limits": asdict(limits),
            "hidden": list(job.hidden), "read_only": list(job.read_only), "host_threads": host_threads or {}}


_gpu_lock = threading.Lock()
_gpus_in_use: set[str] = set()


def _claim_gpu() -> str | None:
    """One of this worker's visible GPUs that no other task of the worker holds (None when none)."""
    with _gpu_lock:
        free = [gpu for gpu in visible_gpus() if gpu not in _gpus_in_use]
        if not free:
            return None
        _gpus_in_use.add(free[0])
        return free[0]


def _release_gpu(gpu: str | None) -> None:
    with _gpu_lock:
        _gpus_in_use.discard(gpu)


def _tasks_on_this_machine(host_threads: dict[str, int]) -> int:
    """Tasks that may run at once on the machine of this Dask worker (its own threads if unknown)."""
    try:
        from distributed import get_worker

        worker = get_worker()
        host = worker.address.split("://")[-1].rsplit(":", 1)[0]
        return host_threads.get(host) or worker.state.nthreads
    except (ImportError, ValueError, AttributeError):
        return 1


def execute_remotely(payload: dict[str, Any]) -> dict[str, Any]:
    """Task body on a Dask worker: run one notebook in the sandbox, return its outcome and JSON."""
    from grader.sandbox import course_sandbox_paths

    folder = Path(tempfile.mkdtemp(prefix=f"dask-{payload['key']}-"))
    gpu = _claim_gpu()
    try:
        (folder / "input.ipynb").write_text(payload["notebook"], encoding="utf-8")
        support = folder / "support"
        for name, data in payload["support"].items():
            (support / name).parent.mkdir(parents=True, exist_ok=True)
            (support / name).write_bytes(data)
        hidden, read_only = course_sandbox_paths()  # this machine's own course checkout
        job = Job(payload["key"], folder / "input.ipynb", folder / "output.ipynb", payload["parameters"],
                  payload["cell_timeout"], support, tuple(sorted({*payload["hidden"], *hidden})),
                  tuple(sorted({*payload["read_only"], *read_only})))
        slot = ({"CUDA_VISIBLE_DEVICES": gpu} if gpu is not None
                else {"CUDA_VISIBLE_DEVICES": "", **thread_limits(_tasks_on_this_machine(payload["host_threads"]))})
        outcome = run_jobs([job], [slot], Limits(**payload["limits"]), progress=False)[job.key]
        notebook = job.output.read_text(encoding="utf-8") if job.output.exists() else None
        return {"outcome": asdict(outcome), "notebook": notebook}
    finally:
        _release_gpu(gpu)
        shutil.rmtree(folder, ignore_errors=True)
