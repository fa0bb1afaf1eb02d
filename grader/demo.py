"""``course demo`` (``make demo``): grade a synthetic class end to end.

Builds the sample class of an assignment (:mod:`grader.examples.make_sample_class`, derived from
the solution and the released notebook, so it never drifts), collects the zip, autogrades it in
the smoke profile with a short cell time limit, and prints the grade table and where the CSV and
the feedback pages are. Everything goes under ``build/demo/`` (never the real ``grading/``).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from grader.autograde import add_executor_arguments, executor_from
from grader.examples.make_sample_class import DEFAULT_ASSIGNMENT, EXPECTED, write_zip
from grader.executors import Executor

DEMO_CELL_TIMEOUT = 20


def run_demo(assignment: str = DEFAULT_ASSIGNMENT, *, workdir: Path | None = None, workers: int | None = None,
             cell_timeout: int = DEMO_CELL_TIMEOUT, course_root: Path | None = None, progress: bool = True,
             executor: Executor | None = None, log=print):
    """Generate, collect and grade the sample class; return the list of StudentGrade."""
    from grader.assignments import find_root
    from grader.autograde import grade_submissions
    from grader.collect import collect
    from grader.workspace import Workspace

    root = Path(course_root) if course_root else find_root()
    workspace = Workspace.create(assignment, workdir or root / "build" / "demo" / assignment, root)
    archive = write_zip(assignment, workspace.workdir.parent / f"sample_class_{assignment}.zip", root)
    log(f"1. sample class: {archive}")

    for area in ("submitted", "runs"):  # the demo class only, executed afresh every time
        shutil.rmtree(workspace.workdir / area, ignore_errors=True)
    report = collect(workspace, archive)
    log(f"2. collected {len(report.students)} notebooks into {workspace.workdir / 'submitted'}"
        + "".join(f"\n   ignored: {line}" for line in report.ignored)
        + "".join(f"\n   problem: {line}" for line in report.problems))

    log(f"3. autograde (profile smoke, {cell_timeout} s per cell)")
    grades = grade_submissions(assignment, {s: workspace.submitted(s) for s in report.students},
                               profile="smoke", workers=workers, workdir=workspace.workdir,
                               cell_timeout=cell_timeout, course_root=root, progress=progress, executor=executor,
                               log=log)
    log("\nexpected:\n" + "\n".join(f"  {student:<9} {text}" for student, text in EXPECTED.items()))
    log(f"\ngrades:   {workspace.workdir / 'grades.csv'}"
        f"\nfeedback: {workspace.workdir / 'feedback'}/<student>.html"
        f"\nsummary:  {workspace.workdir / 'summary.json'}, histogram: {workspace.workdir / 'scores.png'}")
    return grades


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="grade a synthetic class end to end (sample zip -> collect -> autograde)",
        description="Build a sample class (correct, stub, partial, infinite loop, tampered, corrupt) "
                    "from the solution, collect it and autograde it in the smoke profile, under build/demo/.")
    parser.add_argument("assignment", nargs="?", default=DEFAULT_ASSIGNMENT)
    parser.add_argument("--workers", type=int, default=None, help="notebooks executed at once (default: cores/GPUs)")
    parser.add_argument("--timeout", type=int, default=DEMO_CELL_TIMEOUT,
                        help=f"per-cell time limit in seconds (default: {DEMO_CELL_TIMEOUT})")
    parser.add_argument("--workdir", type=Path, default=None, help="grading area (default: build/demo/<A>)")
    add_executor_arguments(parser)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from grader.workspace import NbgraderError

    executor = executor_from(args, "demo")
    if executor is None:
        return 2
    try:
        run_demo(args.assignment, workdir=args.workdir, cell_timeout=args.timeout, executor=executor)
    except (FileNotFoundError, NbgraderError, ValueError) as exc:
        print(f"course demo: {exc}")
        return 2
    finally:
        executor.close()
    return 0
