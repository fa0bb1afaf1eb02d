"""``course autograde``: grade a collected class, one submission at a time through five steps.

1. place    each submission at ``submitted/<student>/<A>/<A>.ipynb`` (``course collect`` does this
            for a class; :func:`grade_submissions` does it for the paths it is given)
2. sanitize restore locked/hidden test cells with nbgrader into a scratch gradebook; detect
            tampering against the released notebook                    (:mod:`grader.sanitize`)
            and add the guard cells that catch monkeypatched test helpers (:mod:`grader.guard`)
3. execute  papermill in sandboxed worker processes, in parallel, on this machine or a Dask
            cluster                                (:mod:`grader.executors`, :mod:`grader.batch`)
4. grade    nbgrader autograde of the executed notebooks into the real gradebook (:mod:`grader.grade`),
            each student as soon as their notebook is back, while the others still run
5. report   grades.csv, summary.json, scores.png, feedback/<student>.html (:mod:`grader.report`,
            :mod:`grader.feedback`)

A failure at any step is recorded for that student and never stops the batch. Every executed
notebook is kept in ``runs/`` with a hash of what ran (notebook cells, parameters, time and
resource limits): running the command again, after an interruption or to regrade, executes only
the submissions whose hash changed, and rewrites every grade in place.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from grader import notebooks as nbs
from grader.batch import Job, Outcome
from grader.collect import check_student_id
from grader.execute import IGNORED_INTERRUPT
from grader.executors import EXECUTORS, Executor, make_executor
from grader.sandbox import Limits, course_sandbox_paths, default_memory_limit
from grader.workspace import NbgraderError, Workspace

if TYPE_CHECKING:
    from grader.grade import Findings
    from grader.sanitize import Sanitized

DEFAULT_CELL_TIMEOUT = 120


@dataclass
class StudentGrade:
    student: str
    scores: dict[str, float]  # grade_id of each graded test -> points earned
    max_scores: dict[str, float]  # grade_id -> max points
    total: float
    max_total: float
    status: str  # "ok", "error", "timeout", "crashed", "tampered"
    reason: str  # human-readable, "" when all is fine
    tampered: bool


def _zero(student: str, max_scores: dict[str, float], status: str, reason: str, tampered: bool) -> StudentGrade:
    return StudentGrade(student, {name: 0.0 for name in max_scores}, dict(max_scores), 0.0,
                        sum(max_scores.values()), status, reason, tampered)


def _place(workspace: Workspace, submissions: dict[str, Path]) -> None:
    for student, path in submissions.items():
        check_student_id(student)
        target = workspace.submitted(student)
        if Path(path).resolve() == target.resolve():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def _why_not_run(outcome: Outcome | None, findings: Findings | None) -> str:
    stopped_in = findings.stopped_in if findings else None
    if outcome is None or not outcome.executed or (findings is not None and not findings.ran_any):
        detail = ((outcome.killed or outcome.error) if outcome else None) or ""
        return "the notebook could not be executed" + (f" ({detail})" if detail else "")
    if outcome.killed:
        return outcome.killed + (f" during {stopped_in}" if stopped_in else "")
    if outcome.error and IGNORED_INTERRUPT in outcome.error:
        return IGNORED_INTERRUPT.replace("the cell", stopped_in or "a cell", 1)
    if outcome.crashed:
        where = f" during {stopped_in}" if stopped_in else ""
        return f"the kernel died{where}" + (f" ({outcome.error})" if outcome.error and not stopped_in else "")
    return "execution stopped before this cell"


def _grade_one(workspace: Workspace, student: str, sanitized: Sanitized, outcome: Outcome | None,
               max_scores: dict[str, float], cell_timeout: int) -> StudentGrade:
    """Step 4 for one student (steps 2-3 done), with the status and reason of the whole run."""
    import nbformat

    from grader import grade as grading

    tampered = bool(sanitized.tampering)
    tamper_note = "tampered with " + "; ".join(sanitized.tampering) if tampered else ""
    if sanitized.error:
        grading.forget(workspace, student)
        return _zero(student, max_scores, "error", "; ".join(filter(None, [sanitized.error, tamper_note])), tampered)

    from grader import guard

    executed_path, run_path = workspace.executed(student), workspace.run_notebook(student)
    if outcome is not None and outcome.executed and run_path.exists():
        nb = nbformat.read(run_path, as_version=4)
    else:  # nothing ran at all: grade the sanitized notebook, every test "never ran"
        nb = nbformat.read(sanitized.notebook, as_version=4)
    patched = guard.findings(nb)
    guard.strip(nb)
    if patched:
        tampered = True
        tamper_note = "; ".join(filter(None, [
            tamper_note, f"monkeypatched {', '.join(patched)} (put back before the tests ran)"]))
    findings = grading.scan(nb)
    never_ran = grading.prepare_for_grading(nb, _why_not_run(outcome, findings))
    executed_path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, executed_path)

    reasons, status = [], "ok"
    if outcome is None or not outcome.executed or not findings.ran_any:
        status = "error"
        reasons.append(_why_not_run(outcome, findings))
    else:
        if outcome.killed_by == "wall_clock" or findings.timeouts or IGNORED_INTERRUPT in (outcome.error or ""):
            status = "timeout"
        elif outcome.killed or outcome.crashed:
            status = "crashed"
        if findings.timeouts:
            reasons.append(f"stopped after the {cell_timeout} s cell time limit: " + ", ".join(findings.timeouts))
        if outcome.killed or outcome.crashed:
            reasons.append(_why_not_run(outcome, findings))
    if never_ran:
        reasons.append("tests that never ran score 0: " + ", ".join(never_ran))
    reasons += outcome.notes if outcome is not None else []
    if tampered:
        reasons.append(tamper_note + " (graded with the original cells)")
        status = "tampered" if status == "ok" else status

    try:
        grading.grade(workspace, student)
        earned = grading.read_scores(workspace, student)
    except Exception as exc:  # one student's grading problem never stops the class
        grading.forget(workspace, student)
        reasons.append(f"nbgrader could not grade the notebook: {exc}")
        return _zero(student, max_scores, "error", "; ".join(reasons), tampered)
    scores = {name: float(earned.get(name, 0.0)) for name in max_scores}
    failed = grading.failed_tests(nb, {name for name in max_scores if scores[name] < max_scores[name]})
    if failed:
        reasons.append("failed: " + ", ".join(f"{name} ({ename})" for name, ename in failed.items()))
    return StudentGrade(student, scores, dict(max_scores), sum(scores.values()), sum(max_scores.values()),
                        status, "; ".join(reasons), tampered)


def grade_submissions(assignment: str, submissions: dict[str, Path], *, profile: str = "smoke",
                      workers: int | None = None, workdir: Path | None = None,
                      cell_timeout: int = DEFAULT_CELL_TIMEOUT, device: str = "auto",
                      course_root: Path | None = None, seed: int = 0, limits: Limits | None = None,
                      executor: Executor | None = None, progress: bool = True, log=print) -> list[StudentGrade]:
    """Grade ``submissions`` (student id -> submitted .ipynb) into ``workdir`` (default grading/<A>).

    Runs sanitize, execute, grade and report; returns one :class:`StudentGrade` per submission,
    sorted by student. ``executor`` runs the notebooks (default: a :class:`grader.executors.LocalExecutor`
    of ``workers``, one per core or one per GPU). ``course_root`` is the course repository (default:
    found from the current directory). ``limits`` are the sandbox limits per submission (default:
    :class:`grader.sandbox.Limits` with a memory share per worker). Submissions executed before with
    the same cells, parameters and limits are not executed again. Raises
    :class:`grader.workspace.NbgraderError` when the source notebook is missing, nbgrader rejects
    it, or another run holds the work area; never for a bad submission.
    """
    workspace = Workspace.create(assignment, workdir, course_root)
    own_executor = executor is None
    executor = executor or make_executor("local", workers=workers)
    try:
        with workspace.locked():
            return _grade_class(workspace, submissions, profile=profile, executor=executor,
                                cell_timeout=cell_timeout, device=device, seed=seed, limits=limits,
                                progress=progress, log=log)
    finally:
        if own_executor:
            executor.close()


def execution_hash(notebook: Path, parameters: dict, cell_timeout: int, limits: Limits) -> str:
    """What decides an execution's result: the cells in order, the parameters and the limits.

    Cell ids and outputs are left out, so re-sanitizing the same submission gives the same hash.
    """
    nb = nbs.read_notebook(notebook)
    cells = [[cell.cell_type, cell.source, sorted(cell.get("metadata", {}).get("tags", []))] for cell in nb.cells]
    text = json.dumps({"cells": cells, "parameters": parameters, "cell_timeout": cell_timeout,
                       "limits": asdict(limits)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _reusable(workspace: Workspace, student: str, digest: str) -> Outcome | None:
    """The recorded outcome of an earlier execution of exactly this notebook, if there is one."""
    try:
        record = json.loads(workspace.run_record(student).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("hash") != digest or not workspace.run_notebook(student).exists():
        return None
    return Outcome(**record["outcome"])


def _worth_keeping(run_notebook: Path, outcome: Outcome) -> bool:
    """Whether a run says something about the submission: the kernel ran cells, and no worker or
    cluster failure cut it short. A run that never started (a busy machine, a lost Dask worker) is
    not recorded, so the next run of the command tries that submission again."""
    from grader.grade import scan

    if outcome.killed_by == "worker" or not outcome.executed:
        return False
    try:
        return scan(nbs.read_notebook(run_notebook)).ran_any
    except (OSError, nbs.NotebookReadError):
        return False


def _record(workspace: Workspace, student: str, digest: str, outcome: Outcome) -> None:
    path = workspace.run_record(student)
    scratch = path.with_suffix(".json.tmp")
    scratch.write_text(json.dumps({"hash": digest, "outcome": asdict(outcome)}, indent=1), encoding="utf-8")
    scratch.replace(path)  # atomic: an interrupted write never leaves half a record


def _grade_class(workspace: Workspace, submissions: dict[str, Path], *, profile: str, executor: Executor,
                 cell_timeout: int, device: str, seed: int, limits: Limits | None, progress: bool,
                 log) -> list[StudentGrade]:
    from tqdm import tqdm

    from grader.feedback import FeedbackWriter
    from grader.isolation import IsolationPlan, describe, probe
    from grader.report import save_result, write_reports
    from grader.sanitize import sanitize

    started = time.perf_counter()
    assignment = workspace.assignment
    for note in workspace.prepare():
        log(f"note: {note}")
    released = nbs.read_notebook(workspace.released_notebook)
    source = nbs.read_notebook(workspace.solution_notebook)
    max_scores = nbs.test_cells(source)
    students = sorted(submissions)
    _place(workspace, {s: Path(submissions[s]) for s in students})

    sanitized = {s: sanitize(workspace, s, workspace.submitted(s), released)
                 for s in tqdm(students, desc="sanitize", unit="nb", disable=not progress)}

    limits = limits or Limits(memory=default_memory_limit(executor.size))
    parameters = {"PROFILE": profile, "DEVICE": device, "SEED": seed}
    hidden, read_only = course_sandbox_paths()
    hidden = tuple(dict.fromkeys((*hidden, str(workspace.workdir), str(workspace.solution_dir.parent))))
    log(executor.describe())
    # each kernel also sees the temporary folder empty but for its own job folder (grader.batch)
    log(describe(probe(IsolationPlan(hidden=(*hidden, tempfile.gettempdir()), read_only=read_only))))

    writer = FeedbackWriter()
    grades: dict[str, StudentGrade] = {}
    seconds: dict[str, float | None] = {}

    def finish(student: str, outcome: Outcome | None) -> None:
        grade = _grade_one(workspace, student, sanitized[student], outcome, max_scores, cell_timeout)
        grades[student] = grade
        seconds[student] = round(outcome.seconds, 2) if outcome else None
        save_result(workspace, grade, {"seconds": seconds[student], "profile": profile})
        graded_nb = _read_or_none(workspace.autograded(student)) if grade.status != "error" else None
        own = _read_or_none(workspace.submitted(student))
        own_sources = "\n".join(c.get("source", "") for c in own.cells) if own else ""
        try:
            writer.write(workspace.feedback_file(student), grade, assignment, graded_nb, source, released,
                         own_sources)
        except Exception as exc:  # a page that cannot be rendered: the score table alone still goes out
            log(f"note: feedback for {student} shows the score table only ({type(exc).__name__}: {exc})")
            writer.write(workspace.feedback_file(student), grade, assignment, None, source, released)

    jobs, digests, reused = [], {}, 0
    for s in students:
        if sanitized[s].notebook is None:
            for stale in (workspace.executed(s), workspace.run_notebook(s), workspace.run_record(s)):
                stale.unlink(missing_ok=True)
            finish(s, None)
            continue
        digests[s] = execution_hash(sanitized[s].notebook, parameters, cell_timeout, limits)
        earlier = _reusable(workspace, s, digests[s])
        if earlier is not None:
            reused += 1
            finish(s, earlier)
            continue
        workspace.run_record(s).unlink(missing_ok=True)
        jobs.append(Job(s, sanitized[s].notebook, workspace.run_notebook(s), parameters, cell_timeout,
                        workspace.workdir / "source" / assignment, hidden, read_only))
    if reused:
        log(f"{reused} submission(s) unchanged since their last execution: graded from runs/, not executed again")

    def executed(job: Job, outcome: Outcome) -> None:
        if _worth_keeping(workspace.run_notebook(job.key), outcome):
            _record(workspace, job.key, digests[job.key], outcome)
        finish(job.key, outcome)

    executing = time.perf_counter()
    if jobs:
        executor.run(jobs, limits, progress=progress, on_done=executed)
    execute_seconds = time.perf_counter() - executing

    run = {"students": len(students), "workers": executor.size, "profile": profile, "cell_timeout": cell_timeout,
           "executed": len(jobs), "reused": reused, "execute_seconds": round(execute_seconds, 2),
           "total_seconds": round(time.perf_counter() - started, 2)}
    summary = write_reports(workspace, max_scores, run)
    log(summary.pop("table"))
    return [grades[s] for s in students]


def _read_or_none(path: Path):
    try:
        return nbs.read_notebook(path)
    except (OSError, nbs.NotebookReadError):
        return None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "autograde", help="execute and grade a collected class (nbgrader + papermill)",
        description="Sanitize, execute (in parallel, sandboxed), grade and report every collected "
                    "submission of ASSIGNMENT (see `course collect`). Writes grading/<A>/grades.csv, "
                    "summary.json, scores.png and feedback/<student>.html.")
    parser.add_argument("assignment", help="assignment id, e.g. 01_bow_naive_bayes")
    parser.add_argument("--profile", choices=("smoke", "full"), default="full",
                        help="PROFILE injected into every notebook (default: full, what students ran)")
    parser.add_argument("--workers", type=int, default=None,
                        help="notebooks executed at once (default: one per GPU, else one per CPU core)")
    parser.add_argument("--timeout", type=int, default=DEFAULT_CELL_TIMEOUT,
                        help=f"per-cell time limit in seconds (default: {DEFAULT_CELL_TIMEOUT})")
    parser.add_argument("--device", default="auto", help="DEVICE injected into every notebook (default: auto)")
    parser.add_argument("--students", default=None, help="comma-separated student ids (default: all collected)")
    parser.add_argument("--workdir", type=Path, default=None, help="grading area (default: grading/<A>)")
    add_executor_arguments(parser)
    parser.set_defaults(func=main)


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--executor", choices=EXECUTORS, default="local",
                        help="local: a pool of worker processes here, one per GPU or core (default); "
                             "dask: tasks on a dask.distributed cluster (see --scheduler)")
    parser.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                        help="with --executor dask: the scheduler of a running cluster (workers need the "
                             "course installed, no shared disk; declare GPUs with --resources GPU=n); "
                             "without it a local cluster of --workers processes is started")


def executor_from(args: argparse.Namespace, command: str) -> Executor | None:
    """The executor the command line asks for, or None (with the reason printed) when it cannot start."""
    if args.workers is not None and args.workers < 1:
        print(f"course {command}: --workers must be at least 1", file=sys.stderr)
        return None
    try:
        return make_executor(args.executor, workers=args.workers, scheduler=args.scheduler)
    except ValueError as exc:
        print(f"course {command}: {exc}", file=sys.stderr)
    except OSError as exc:  # no scheduler at that address, or it timed out
        print(f"course {command}: cannot reach the Dask scheduler {args.scheduler}: {exc}", file=sys.stderr)
    return None


def main(args: argparse.Namespace) -> int:
    workspace = Workspace.create(args.assignment, args.workdir)
    collected = workspace.collected_students()
    if not collected:
        print(f"course autograde: nothing collected in {workspace.workdir / 'submitted'}; "
              f"run `course collect {args.assignment} ZIP_OR_FOLDER` first", file=sys.stderr)
        return 2
    chosen = collected
    if args.students:
        chosen = [s.strip() for s in args.students.split(",") if s.strip()]
        missing = [s for s in chosen if s not in collected]
        if missing:
            print(f"course autograde: not collected: {', '.join(missing)}", file=sys.stderr)
            return 2
    executor = executor_from(args, "autograde")
    if executor is None:
        return 2
    try:
        grade_submissions(args.assignment, {s: workspace.submitted(s) for s in chosen}, profile=args.profile,
                          workdir=workspace.workdir, cell_timeout=args.timeout, device=args.device,
                          executor=executor)
    except NbgraderError as exc:
        print(f"course autograde: {exc}", file=sys.stderr)
        return 2
    finally:
        executor.close()
    print(f"\ngrades:   {workspace.workdir / 'grades.csv'}\nfeedback: {workspace.workdir / 'feedback'}/"
          f"\nsummary:  {workspace.workdir / 'summary.json'}, histogram: {workspace.workdir / 'scores.png'}")
    return 0  # the batch completed; each student's problems are in the CSV
