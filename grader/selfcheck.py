"""``course selfcheck``: prove that an assignment's tests grade what they claim to grade.

For each assignment, one batch of synthetic submissions goes through the real grading pipeline
(:func:`grader.autograde.grade_submissions`, smoke profile):

* ``solution``: the released notebook with the solution code typed in; must get full marks;
* ``stub``: the released notebook as students get it; must score 0 on every graded cell;
* ``mistake_<name>``: the solution with one cell replaced by a known-wrong implementation from
  ``grader/mistakes/<A>/<name>.py``; must lose *all* points of every test its header names
  (losing others too is allowed and reported).

It also checks that every test is named by at least one mistake file (coverage) and that every
mistake header is well formed and names existing cells::

    # Mistake: <one line: what a student got wrong>
    # Replaces: <grade_id of the solution cell whose code this file replaces>
    # Loses: <grade_id of a test>[, <grade_id of another test>]
    <python code that replaces that solution cell's whole source>

The exit code is 1 when anything is violated, and every violation is named.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import textwrap
import time
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from tqdm import tqdm

from grader.assignments import Assignment, CourseError, root_from, select
from grader.notebooks import grade_id, is_solution, solved_notebook, test_cells

HEADER = (
    ("mistake", re.compile(r"^#\s*Mistake:\s*(?P<value>\S.*?)\s*$")),
    ("replaces", re.compile(r"^#\s*Replaces:\s*(?P<value>\S.*?)\s*$")),
    ("loses", re.compile(r"^#\s*Loses:\s*(?P<value>\S.*?)\s*$")),
)
_GRADE_ID = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass
class MistakeFile:
    """A parsed mistake file; ``problems`` lists what is wrong with its header or code."""

    path: Path
    mistake: str = ""
    replaces: str = ""
    loses: list[str] = field(default_factory=list)
    code: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def student(self) -> str:
        return "mistake_" + re.sub(r"[^A-Za-z0-9_]", "_", self.path.stem)


def parse_mistake(path: Path, solution_ids: set[str], test_ids: set[str]) -> MistakeFile:
    """Read a mistake file and check its header against the assignment's cells."""
    parsed = MistakeFile(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    values: dict[str, str] = {}
    for number, (key, pattern) in enumerate(HEADER):
        match = pattern.match(lines[number]) if number < len(lines) else None
        if match is None:
            expected = {"mistake": "# Mistake: <what a student got wrong>", "replaces": "# Replaces: <solution grade_id>",
                        "loses": "# Loses: <test grade_id>[, <test grade_id>]"}[key]
            parsed.problems.append(f"line {number + 1} should read `{expected}`")
        else:
            values[key] = match.group("value")
    parsed.mistake = values.get("mistake", "")
    parsed.replaces = values.get("replaces", "")
    parsed.loses = [name.strip() for name in values.get("loses", "").split(",") if name.strip()]
    parsed.code = "\n".join(lines[len(HEADER):]).strip("\n")
    if parsed.replaces:
        if not _GRADE_ID.match(parsed.replaces):
            parsed.problems.append(f"Replaces names one grade_id, got {parsed.replaces!r}")
        elif parsed.replaces not in solution_ids:
            parsed.problems.append(f"Replaces: {parsed.replaces!r} is not a solution cell "
                                   f"(solution cells: {', '.join(sorted(solution_ids))})")
    for name in parsed.loses:
        if name not in test_ids:
            parsed.problems.append(f"Loses: {name!r} is not a graded test (tests: {', '.join(sorted(test_ids))})")
    if len(set(parsed.loses)) != len(parsed.loses):
        parsed.problems.append("Loses names a test twice")
    if parsed.problems:
        return parsed  # a broken header: the code after it cannot be told apart
    if not parsed.code:
        parsed.problems.append("no code after the three header lines")
    else:
        try:
            compile(parsed.code, str(path), "exec")
        except SyntaxError as exc:
            parsed.problems.append(f"the code does not compile: {exc.msg} (line {(exc.lineno or 0) + len(HEADER)})")
    return parsed


@dataclass
class Row:
    """One synthetic submission: what was expected and what the grader gave it."""

    student: str
    expectation: str
    score: str = "-"
    lost: str = "-"
    verdict: str = "ok"
    also_lost: list[str] = field(default_factory=list)


@dataclass
class AssignmentCheck:
    name: str
    rows: list[Row] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def build_submissions(release: nbformat.NotebookNode, source: nbformat.NotebookNode,
                      mistakes: list[MistakeFile]) -> dict[str, nbformat.NotebookNode]:
    """The synthetic class: the solution, the stub, and one submission per well-formed mistake."""
    solved = solved_notebook(release, source)
    submissions = {"solution": solved, "stub": deepcopy(release)}
    for mistake in mistakes:
        if mistake.problems:
            continue
        wrong = deepcopy(solved)
        for cell in wrong.cells:
            if grade_id(cell) == mistake.replaces and is_solution(cell):
                cell.source = mistake.code
        submissions[mistake.student] = wrong
    return submissions


def _lost(grade: Any, ids: list[str]) -> list[str]:
    return [name for name in ids if grade.scores.get(name, 0.0) < grade.max_scores.get(name, 0.0)]


def _fmt(value: float) -> str:
    return f"{value:g}"


def judge(check: AssignmentCheck, grades: dict[str, Any], test_ids: list[str], mistakes: list[MistakeFile]) -> None:
    """Compare each synthetic submission's grade with what it must get; record violations."""

    def graded(student: str, row: Row) -> Any:
        grade = grades.get(student)
        if grade is None:
            row.verdict = "VIOLATION"
            check.violations.append(f"{student}: the grader returned no grade")
            return None
        row.score = f"{_fmt(grade.total)}/{_fmt(grade.max_total)}"
        if grade.tampered:
            row.verdict = "VIOLATION"
            check.violations.append(f"{student}: flagged as tampered, but it only changes solution cells"
                                    + (f" ({grade.reason})" if grade.reason else ""))
        unknown = sorted(set(test_ids) - set(grade.max_scores))
        if unknown:
            row.verdict = "VIOLATION"
            check.violations.append(f"{student}: no score for {', '.join(unknown)}")
        return grade

    row = Row("solution", "full marks")
    check.rows.append(row)
    grade = graded("solution", row)
    if grade is not None:
        lost = _lost(grade, list(grade.max_scores))
        row.lost = ", ".join(lost) or "-"
        if lost or grade.total < grade.max_total:
            row.verdict = "VIOLATION"
            why = f" ({grade.status}: {grade.reason})" if grade.reason else ""
            check.violations.append(f"solution: loses points on {', '.join(lost) or 'the total'}{why}")

    row = Row("stub", "0 on every graded cell")
    check.rows.append(row)
    grade = graded("stub", row)
    if grade is not None:
        scoring = [name for name, score in grade.scores.items() if score > 0]
        row.lost = "all" if not scoring else f"all but {', '.join(scoring)}"
        if scoring:
            row.verdict = "VIOLATION"
            check.violations.append("stub: scores points on " + ", ".join(
                f"{name} ({_fmt(grade.scores[name])} pt)" for name in scoring) + "; the test passes without a solution")

    for mistake in mistakes:
        row = Row(mistake.student, "loses " + (", ".join(mistake.loses) or "?"))
        check.rows.append(row)
        if mistake.problems:
            row.verdict = "VIOLATION"
            row.score = "not run"
            for problem in mistake.problems:
                check.violations.append(f"{mistake.path.name}: {problem}")
            continue
        grade = graded(mistake.student, row)
        if grade is None:
            continue
        lost = _lost(grade, list(grade.max_scores))
        row.also_lost = [name for name in lost if name not in mistake.loses]
        named = [name for name in lost if name in mistake.loses]
        row.lost = (", ".join(named) or "nothing") + (f" + also {', '.join(row.also_lost)}" if row.also_lost else "")
        for name in mistake.loses:
            kept = grade.scores.get(name, 0.0)
            if kept > 0:
                row.verdict = "VIOLATION"
                check.violations.append(f"{mistake.path.name}: keeps {_fmt(kept)} of "
                                        f"{_fmt(grade.max_scores.get(name, 0.0))} points on {name}; "
                                        f"it must lose all of them")

    named = {name for mistake in mistakes if not mistake.problems for name in mistake.loses}
    for name in test_ids:
        if name not in named:
            check.violations.append(f"coverage: test {name} is named by no mistake file "
                                    f"(add one to grader/mistakes/{check.name}/)")


def _grade_submissions(assignment: Assignment, files: dict[str, Path], *, workdir: Path, profile: str,
                       workers: int | None, device: str, timeout: int, progress: bool,
                       notes: list[str]) -> dict[str, Any]:
    from grader.autograde import grade_submissions

    grades = grade_submissions(assignment.name, files, profile=profile, workers=workers, workdir=workdir,
                               cell_timeout=timeout, device=device, course_root=assignment.root,
                               progress=progress, log=notes.append)
    return {grade.student: grade for grade in grades}


def selfcheck_assignment(assignment: Assignment, *, profile: str = "smoke", workers: int | None = None,
                         device: str = "auto", timeout: int = 120, keep: Path | None = None,
                         progress: bool = True) -> AssignmentCheck:
    from grader.generate import generate_assignment

    started = time.perf_counter()
    check = AssignmentCheck(assignment.name)
    source = nbformat.read(assignment.source_notebook, as_version=4)
    tests = list(test_cells(source))
    solution_ids = {grade_id(cell) for cell in source.cells if is_solution(cell)}
    mistakes = [parse_mistake(path, solution_ids, set(tests)) for path in assignment.mistake_files()]
    if not mistakes:
        check.notes.append(f"no mistake files in {assignment.mistakes_dir.relative_to(assignment.root)}")
    with tempfile.TemporaryDirectory(prefix="course-selfcheck-") as scratch_name:
        scratch = keep or Path(scratch_name)
        fresh = scratch / "release" / assignment.name
        generate_assignment(assignment, fresh)
        fresh_notebook = fresh / f"{assignment.name}.ipynb"
        if not assignment.release_notebook.is_file():
            check.notes.append(f"{assignment.release_notebook.relative_to(assignment.root)} is missing; "
                               "checked a fresh student version (run `course generate`)")
        elif assignment.release_notebook.read_bytes() != fresh_notebook.read_bytes():
            check.notes.append(f"{assignment.release_notebook.relative_to(assignment.root)} is out of date; "
                               "checked a fresh student version (run `course generate`)")
        release = nbformat.read(fresh_notebook, as_version=4)
        files: dict[str, Path] = {}
        grader_log: list[str] = []
        for student, nb in build_submissions(release, source, mistakes).items():
            path = scratch / "submissions" / student / f"{assignment.name}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, path)
            files[student] = path
        try:
            grades = _grade_submissions(assignment, files, workdir=scratch / "grading", profile=profile,
                                        workers=workers, device=device, timeout=timeout, progress=progress,
                                        notes=grader_log)
        except Exception as exc:  # the grader itself failed: that is the finding
            check.violations.append(f"grading failed: {type(exc).__name__}: {exc}")
            check.notes += grader_log
            check.seconds = time.perf_counter() - started
            return check
    judge(check, grades, tests, mistakes)
    check.seconds = time.perf_counter() - started
    return check


def format_check(check: AssignmentCheck) -> str:
    header = ("submission", "expected", "score", "tests lost", "verdict")
    rows = [(r.student, r.expectation, r.score, r.lost, r.verdict) for r in check.rows]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [f"== {check.name} ({check.seconds:.0f} s)"]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
              for row in [header, tuple("-" * w for w in widths), *rows]]
    lines += [f"note: {note}" for note in check.notes]
    if check.violations:
        lines.append(f"{len(check.violations)} violation(s):")
        lines += [f"  ✗ {violation}" for violation in check.violations]
    else:
        lines.append("all checks pass: solution full marks, stub 0, every mistake loses its tests, every test covered")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        root = root_from(args.root)
        assignments = select(root, args.assignment)
    except CourseError as exc:
        print(f"course selfcheck: error: {exc}", file=sys.stderr)
        return 2
    failed = 0
    for assignment in tqdm(assignments, desc="selfcheck", unit="assignment", disable=args.quiet or len(assignments) < 2):
        keep = Path(args.keep).resolve() / assignment.name if args.keep else None
        check = selfcheck_assignment(assignment, profile=args.profile, workers=args.workers, device=args.device,
                                     timeout=args.timeout, keep=keep, progress=not args.quiet)
        tqdm.write(format_check(check) + "\n")
        failed += bool(check.violations)
    print(f"selfcheck: {len(assignments) - failed} of {len(assignments)} assignment(s) pass")
    return 1 if failed else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "selfcheck",
        help="prove every test: solution full marks, stub 0, each mistake loses its tests",
        description=textwrap.fill(
            "Grade a synthetic class through the real pipeline (smoke profile): the solution must get "
            "full marks, the released stub 0 on every graded cell, and each grader/mistakes/A/*.py "
            "(the solution with one cell replaced) must lose all points of the tests its header names. "
            "Every test must be named by some mistake file, and headers must name existing cells. "
            "Exit status 1 on any violation."
        ),
        epilog="mistake file header:\n  # Mistake: <what a student got wrong>\n  # Replaces: <solution grade_id>\n"
               "  # Loses: <test grade_id>[, <test grade_id>]\n\nexamples:\n  course selfcheck\n"
               "  course selfcheck 01_bow_naive_bayes --workers 2",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("assignment", nargs="?", metavar="ASSIGNMENT", help="assignment to check; all when omitted")
    parser.add_argument("--profile", default="smoke", help="PROFILE the submissions run with (default: smoke)")
    parser.add_argument("--device", default="auto", help="DEVICE the submissions run with (default: auto)")
    parser.add_argument("--workers", type=int, metavar="N", help="submissions executed at once (default: the grader's)")
    parser.add_argument("--timeout", type=int, default=120, metavar="S", help="per-cell time limit in seconds (default: 120)")
    parser.add_argument("--keep", metavar="DIR", help="keep the synthetic submissions and grading area under DIR")
    parser.add_argument("--root", metavar="DIR", help="course root (default: found from here)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
