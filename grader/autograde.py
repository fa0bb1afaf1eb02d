"""``course autograde``: grade a collected class, one submission at a time through five steps.

1. place    each submission at ``submitted/<student>/<A>/<A>.ipynb`` (``course collect`` does this
            for a class; :func:`grade_submissions` does it for the paths it is given)
2. sanitize restore locked/hidden test cells with nbgrader into a scratch gradebook; detect
            tampering against the released notebook                    (:mod:`grader.sanitize`)
3. execute  papermill in sandboxed worker processes, in parallel       (:mod:`grader.batch`)
4. grade    nbgrader autograde of the executed notebooks into the real gradebook (:mod:`grader.grade`)
5. report   grades.csv, summary.json, scores.png, feedback/<student>.html (:mod:`grader.report`,
            :mod:`grader.feedback`)

A failure at any step is recorded for that student and never stops the batch.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from grader import notebooks as nbs
from grader.batch import Job, Outcome, run_jobs
from grader.collect import check_student_id
from grader.sandbox import Limits, default_memory_limit, worker_slots
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

    executed_path = workspace.executed(student)
    if outcome is not None and outcome.executed and executed_path.exists():
        nb = nbformat.read(executed_path, as_version=4)
    else:  # nothing ran at all: grade the sanitized notebook, every test "never ran"
        nb = nbformat.read(sanitized.notebook, as_version=4)
    findings = grading.scan(nb)
    never_ran = grading.prepare_for_grading(nb, _why_not_run(outcome, findings))
    executed_path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, executed_path)

    reasons, status = [], "ok"
    if outcome is None or not outcome.executed or not findings.ran_any:
        status = "error"
        reasons.append(_why_not_run(outcome, findings))
    else:
        if outcome.killed_by == "wall_clock" or findings.timeouts:
            status = "timeout"
        elif outcome.killed or outcome.crashed:
            status = "crashed"
        if findings.timeouts:
            reasons.append(f"stopped after the {cell_timeout} s cell time limit: " + ", ".join(findings.timeouts))
        if outcome.killed or outcome.crashed:
            reasons.append(_why_not_run(outcome, findings))
    if never_ran:
        reasons.append("tests that never ran score 0: " + ", ".join(never_ran))
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
    return StudentGrade(student, scores, dict(max_scores), sum(scores.values()), sum(max_scores.values()),
                        status, "; ".join(reasons), tampered)


def grade_submissions(assignment: str, submissions: dict[str, Path], *, profile: str = "smoke",
                      workers: int | None = None, workdir: Path | None = None,
                      cell_timeout: int = DEFAULT_CELL_TIMEOUT, device: str = "auto",
                      course_root: Path | None = None, seed: int = 0, limits: Limits | None = None,
                      progress: bool = True, log=print) -> list[StudentGrade]:
    """Grade ``submissions`` (student id -> submitted .ipynb) into ``workdir`` (default grading/<A>).

    Runs sanitize, execute (``workers`` in parallel, default one per core or one per GPU), grade
    and report; returns one :class:`StudentGrade` per submission, sorted by student. ``course_root``
    is the course repository (default: found from the current directory). ``limits`` are the
    sandbox limits per submission (default: :class:`grader.sandbox.Limits` with a memory share per
    worker). Raises :class:`grader.workspace.NbgraderError` when the source notebook is missing,
    nbgrader rejects it, or another run holds the work area; never for a bad submission.
    """
    workspace = Workspace.create(assignment, workdir, course_root)
    with workspace.locked():
        return _grade_class(workspace, submissions, profile=profile, workers=workers, cell_timeout=cell_timeout,
                            device=device, seed=seed, limits=limits, progress=progress, log=log)


def _grade_class(workspace: Workspace, submissions: dict[str, Path], *, profile: str, workers: int | None,
                 cell_timeout: int, device: str, seed: int, limits: Limits | None, progress: bool,
                 log) -> list[StudentGrade]:
    from tqdm import tqdm

    from grader.feedback import FeedbackWriter
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

    slots = worker_slots(workers)
    limits = limits or Limits(memory=default_memory_limit(len(slots)))
    parameters = {"PROFILE": profile, "DEVICE": device, "SEED": seed}
    jobs = [Job(s, sanitized[s].notebook, workspace.executed(s), parameters, cell_timeout,
                workspace.workdir / "source" / assignment)
            for s in students if sanitized[s].notebook is not None]
    for s in students:
        if sanitized[s].notebook is None:
            workspace.executed(s).unlink(missing_ok=True)
    executing = time.perf_counter()
    outcomes = run_jobs(jobs, slots, limits, progress=progress) if jobs else {}
    execute_seconds = time.perf_counter() - executing

    writer = FeedbackWriter()
    grades = []
    for s in tqdm(students, desc="grade", unit="nb", disable=not progress):
        grade = _grade_one(workspace, s, sanitized[s], outcomes.get(s), max_scores, cell_timeout)
        grades.append(grade)
        outcome = outcomes.get(s)
        save_result(workspace, grade, {"seconds": round(outcome.seconds, 2) if outcome else None,
                                       "profile": profile})
        graded_nb = _read_or_none(workspace.autograded(s)) if grade.status != "error" else None
        own = _read_or_none(workspace.submitted(s))
        own_sources = "\n".join(c.get("source", "") for c in own.cells) if own else ""
        try:
            writer.write(workspace.feedback_file(s), grade, assignment, graded_nb, source, released, own_sources)
        except Exception as exc:  # a page that cannot be rendered: the score table alone still goes out
            log(f"note: feedback for {s} shows the score table only ({type(exc).__name__}: {exc})")
            writer.write(workspace.feedback_file(s), grade, assignment, None, source, released)

    run = {"students": len(students), "workers": len(slots), "profile": profile, "cell_timeout": cell_timeout,
           "execute_seconds": round(execute_seconds, 2),
           "total_seconds": round(time.perf_counter() - started, 2)}
    summary = write_reports(workspace, max_scores, run)
    log(summary.pop("table"))
    return grades


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
    parser.set_defaults(func=main)


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
    if args.workers is not None and args.workers < 1:
        print("course autograde: --workers must be at least 1", file=sys.stderr)
        return 2
    try:
        grades = grade_submissions(args.assignment, {s: workspace.submitted(s) for s in chosen},
                                   profile=args.profile, workers=args.workers, workdir=workspace.workdir,
                                   cell_timeout=args.timeout, device=args.device)
    except NbgraderError as exc:
        print(f"course autograde: {exc}", file=sys.stderr)
        return 2
    print(f"\ngrades:   {workspace.workdir / 'grades.csv'}\nfeedback: {workspace.workdir / 'feedback'}/"
          f"\nsummary:  {workspace.workdir / 'summary.json'}, histogram: {workspace.workdir / 'scores.png'}")
    return 0  # the batch completed; each student's problems are in the CSV
