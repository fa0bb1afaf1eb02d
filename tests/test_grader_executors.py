"""Executors and resumable batches: ``local`` and ``dask`` grade alike, GPU pinning, resume, idempotence.

GPUs are faked: the visible-GPU list is given (``local``) or set in the Dask workers' environment
with a ``GPU`` resource (``dask``), and each kernel prints the ``CUDA_VISIBLE_DEVICES`` it got.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import nbformat
import pytest
from fixtures.toy_class import ASSIGNMENT, make_course, students

from grader.autograde import grade_submissions
from grader.batch import Job
from grader.executors import DaskExecutor, LocalExecutor, make_executor
from grader.sandbox import Limits

pytestmark = pytest.mark.slow

PIN_PROBE = "import os, time\nprint('GPU', os.environ.get('CUDA_VISIBLE_DEVICES'))\ntime.sleep(2)"


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    folder = tmp_path_factory.mktemp("executors")
    course = make_course(folder / "course")
    everyone = students(course, folder / "class")
    return course, {name: everyone[name] for name in ("correct", "stub", "wrong", "crash")}


def _probe_jobs(folder: Path, count: int) -> list[Job]:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                           "display_name": "Python 3"}})
    nb.cells = [nbformat.v4.new_code_cell("PROFILE = 'full'", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(PIN_PROBE)]
    path = folder / "probe.ipynb"
    nbformat.write(nb, path)
    return [Job(f"job{i}", path, folder / f"out{i}.ipynb", {"PROFILE": "smoke"}, 60) for i in range(count)]


def _gpus_seen(job: Job) -> list[str]:
    text = "".join(o.get("text", "") for c in nbformat.read(job.output, as_version=4).cells
                   for o in c.get("outputs", []))
    return [line.split(" ", 1)[1] for line in text.splitlines() if line.startswith("GPU ")]


def test_local_executor_pins_each_kernel_to_one_gpu(tmp_path: Path) -> None:
    executor = LocalExecutor(workers=2, gpus=["0", "1"])
    jobs = _probe_jobs(tmp_path, 4)
    outcomes = executor.run(jobs, Limits(), progress=False)
    seen = [_gpus_seen(job) for job in jobs]
    assert all(outcomes[job.key].executed and not outcomes[job.key].error for job in jobs), outcomes
    assert all(len(ids) == 1 and ids[0] in ("0", "1") for ids in seen), seen
    assert {ids[0] for ids in seen} == {"0", "1"}
    assert {outcome.slot for outcome in outcomes.values()} == {0, 1}


@pytest.fixture(scope="module")
def gpu_cluster():
    """A local Dask cluster whose one worker runs two tasks at once and declares two (fake) GPUs."""
    from distributed import LocalCluster

    mp = pytest.MonkeyPatch()
    mp.setenv("CUDA_VISIBLE_DEVICES", "3,5")  # the worker process inherits it: its two GPUs
    cluster = LocalCluster(n_workers=1, threads_per_worker=2, resources={"GPU": 2}, processes=True,
                           dashboard_address=":0")
    mp.undo()
    yield cluster
    cluster.close()


def test_dask_tasks_each_get_one_of_the_workers_gpus(gpu_cluster, tmp_path: Path) -> None:
    executor = DaskExecutor(scheduler=gpu_cluster.scheduler_address)
    try:
        assert executor.gpus == 2 and "2 GPUs" in executor.describe()
        jobs = _probe_jobs(tmp_path, 4)
        outcomes = executor.run(jobs, Limits(), progress=False)
    finally:
        executor.close()
    seen = [_gpus_seen(job) for job in jobs]
    assert all(outcomes[job.key].executed for job in jobs), outcomes
    assert all(len(ids) == 1 and ids[0] in ("3", "5") for ids in seen), seen
    assert {ids[0] for ids in seen} == {"3", "5"}  # two at a time, never the same GPU twice


def test_dask_grades_like_local(toy, gpu_cluster, tmp_path: Path) -> None:
    course, submissions = toy
    local = grade_submissions(ASSIGNMENT, submissions, workers=2, workdir=tmp_path / "local", cell_timeout=5,
                              course_root=course, progress=False, log=lambda line: None)
    executor = DaskExecutor(scheduler=gpu_cluster.scheduler_address)
    try:
        remote = grade_submissions(ASSIGNMENT, submissions, workdir=tmp_path / "dask", cell_timeout=5,
                                   course_root=course, executor=executor, progress=False, log=lambda line: None)
    finally:
        executor.close()
    assert [(g.student, g.scores, g.status) for g in remote] == [(g.student, g.scores, g.status) for g in local]
    assert {g.student: g.total for g in local} == {"correct": 4, "crash": 1, "stub": 0, "wrong": 1}


class CountingExecutor:
    """A local executor that counts what it runs and can stop the batch after ``stop_after`` jobs."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.inner = LocalExecutor(workers=1, gpus=[])
        self.size = self.inner.size
        self.stop_after = stop_after
        self.ran: list[str] = []

    def describe(self) -> str:
        return "counting " + self.inner.describe()

    def run(self, jobs, limits, *, progress=True, on_done=None):  # noqa: ANN001, ANN201
        def done(job, outcome) -> None:  # noqa: ANN001
            self.ran.append(job.key)
            on_done(job, outcome)
            if self.stop_after is not None and len(self.ran) >= self.stop_after:
                raise KeyboardInterrupt
        return self.inner.run(jobs, limits, progress=progress, on_done=done)

    def close(self) -> None:
        pass


def _csv_rows(workdir: Path) -> list[dict[str, str]]:
    with (workdir / "grades.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_an_interrupted_batch_resumes_and_reruns_change_nothing(toy, tmp_path: Path) -> None:
    from nbgrader.api import Gradebook

    course, everyone = toy
    submissions = {name: everyone[name] for name in ("correct", "stub", "wrong")}
    workdir = tmp_path / "grading"

    def grade(executor: CountingExecutor):  # noqa: ANN202
        return grade_submissions(ASSIGNMENT, submissions, workdir=workdir, cell_timeout=5, course_root=course,
                                 executor=executor, progress=False, log=lambda line: None)

    interrupted = CountingExecutor(stop_after=1)
    with pytest.raises(KeyboardInterrupt):
        grade(interrupted)
    assert len(interrupted.ran) == 1
    assert len(list((workdir / "runs").glob("*.json"))) == 1  # the one that finished is recorded

    resumed = CountingExecutor()
    first = grade(resumed)
    assert sorted(resumed.ran) == sorted(set(submissions) - set(interrupted.ran))  # only what was left
    assert {g.student: g.total for g in first} == {"correct": 4, "stub": 0, "wrong": 1}

    again = CountingExecutor()
    second = grade(again)
    assert again.ran == []  # nothing changed: nothing executed
    assert second == first
    rows = _csv_rows(workdir)
    assert [row["student"] for row in rows] == ["correct", "stub", "wrong"]  # no row twice, none lost
    with Gradebook(f"sqlite:///{workdir / 'gradebook.db'}") as gradebook:
        assert sorted(s.student.id for s in gradebook.assignment_submissions(ASSIGNMENT)) == sorted(submissions)

    # a student resubmits: only that notebook runs again, and its grade follows
    time.sleep(0.01)
    submissions["stub"] = everyone["correct"]
    changed = CountingExecutor()
    third = grade(changed)
    assert changed.ran == ["stub"]
    assert {g.student: g.total for g in third} == {"correct": 4, "stub": 4, "wrong": 1}
    record = json.loads((workdir / "runs" / "stub.json").read_text())
    assert record["outcome"]["executed"] and len(record["hash"]) == 64


def test_unknown_executor_and_scheduler_without_dask_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="unknown executor 'slurm'"):
        make_executor("slurm")
    with pytest.raises(ValueError, match="--scheduler needs --executor dask"):
        make_executor("local", scheduler="tcp://127.0.0.1:8786")


def test_whole_run_wall_clock_stops_a_notebook_of_short_cells(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                           "display_name": "Python 3"}})
    nb.cells = [nbformat.v4.new_code_cell("import time")] + [nbformat.v4.new_code_cell("time.sleep(2)")
                                                               for _ in range(10)]
    nbformat.write(nb, tmp_path / "slow.ipynb")
    job = Job("slow", tmp_path / "slow.ipynb", tmp_path / "out.ipynb", {}, 60)
    outcome = LocalExecutor(workers=1, gpus=[]).run([job], Limits(wall_seconds=8), progress=False)["slow"]
    assert outcome.killed_by == "wall_clock" and "whole-run limit of 8 s" in outcome.killed
    assert outcome.seconds < 40


def test_dask_kernels_share_their_machines_cores(tmp_path: Path) -> None:
    """Two one-thread workers on one machine: each kernel gets half the cores for OpenMP, as with local."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                           "display_name": "Python 3"}})
    nb.cells = [nbformat.v4.new_code_cell("import os\nprint('OMP', os.environ['OMP_NUM_THREADS'])")]
    nbformat.write(nb, tmp_path / "omp.ipynb")
    jobs = [Job(f"omp{i}", tmp_path / "omp.ipynb", tmp_path / f"omp{i}.ipynb", {}, 60) for i in range(2)]
    executor = make_executor("dask", workers=2)
    try:
        executor.run(jobs, Limits(), progress=False)
    finally:
        executor.close()
    local = LocalExecutor(workers=2, gpus=[]).slots[0]["OMP_NUM_THREADS"]
    for job in jobs:
        text = "".join(o.get("text", "") for c in nbformat.read(job.output, as_version=4).cells
                       for o in c.get("outputs", []))
        assert f"OMP {local}\n" in text, text
