"""``course validate``: the student's check before submitting, with a real exit code.

Two checks on one notebook:

* structure, against the released version ``assignments/A/A.ipynb``: every nbgrader cell (tests,
  solution cells, locked cells) is still there by grade_id, with its cell type and nbgrader
  metadata unchanged, and locked cells keep their source;
* the visible tests: the notebook runs with the smoke profile, every cell even after a failure,
  and each test cell is reported as passed or failed with its assertion message.

The exit code is 0 only when both are clean (nbgrader's own ``validate`` always exits 0).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import textwrap
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from grader import cells
from grader.assignments import Assignment, CourseError, released, root_from
from grader.notebooks import (
    NotebookReadError,
    added_by_papermill,
    cells_by_grade_id,
    grade_id,
    is_locked,
    is_solution,
    is_test_cell,
    nbgrader_meta,
    read_notebook,
)

PASSED, FAILED, NOT_RUN, MISSING = "passed", "failed", "not run", "missing"


@dataclass
class Problem:
    """A structural difference from the released notebook."""

    grade_id: str
    kind: str  # deleted, duplicated, retyped, metadata, edited, added
    message: str


@dataclass
class TestResult:
    grade_id: str
    points: float
    status: str
    error: str | None = None


@dataclass
class Validation:
    notebook: str
    assignment: str
    released: str
    problems: list[Problem] = field(default_factory=list)
    tests: list[TestResult] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    executed: bool = False
    profile: str | None = None
    seconds: float | None = None
    execution_error: str | None = None

    @property
    def ok(self) -> bool:
        tests_ok = all(test.status == PASSED for test in self.tests)
        return not self.problems and (not self.executed or (tests_ok and not self.errors and not self.execution_error))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        data["structure_ok"] = not self.problems
        return data


def _role(meta: dict[str, Any], key: str) -> Any:
    value = meta.get(key, False if key != "points" else None)
    return float(value) if key == "points" and value is not None else value


def check_structure(submitted: nbformat.NotebookNode, release: nbformat.NotebookNode) -> list[Problem]:
    """How ``submitted`` departs from the released notebook, cell by cell (by grade_id)."""
    problems: list[Problem] = []
    mine = cells_by_grade_id(submitted)
    for name, (reference, *_) in cells_by_grade_id(release).items():
        kind = "test" if is_test_cell(reference) else "solution" if is_solution(reference) else "locked"
        found = mine.get(name, [])
        if not found:
            problems.append(Problem(name, "deleted", f"{kind} cell {name!r} is missing (deleted, or its nbgrader metadata removed)"))
            continue
        if len(found) > 1:
            problems.append(Problem(name, "duplicated", f"{kind} cell {name!r} appears {len(found)} times"))
        cell = found[0]
        if cell.cell_type != reference.cell_type:
            problems.append(Problem(name, "retyped",
                                    f"{kind} cell {name!r} was changed from {reference.cell_type} to {cell.cell_type}"))
        expected, actual = nbgrader_meta(reference), nbgrader_meta(cell)
        changed = [key for key in cells.ROLE_FIELDS if _role(expected, key) != _role(actual, key)]
        if changed:
            what = ", ".join(f"{key} {_role(expected, key)!r} -> {_role(actual, key)!r}" for key in changed)
            problems.append(Problem(name, "metadata", f"{kind} cell {name!r}: nbgrader metadata changed ({what})"))
        if is_locked(reference) and cells.source_changed(reference, cell):
            problems.append(Problem(name, "edited", f"locked {kind} cell {name!r} was edited; restore its original text"))
    for name, found in mine.items():
        if name not in cells_by_grade_id(release) and any(nbgrader_meta(c).get("grade") for c in found):
            problems.append(Problem(name, "added", f"graded cell {name!r} is not in the released notebook"))
    return problems


def find_assignment(path: Path, nb: nbformat.NotebookNode, root: Path, name: str | None = None) -> Assignment:
    """The assignment a submitted notebook belongs to: ``name`` when given, else the file or folder
    name, else the released notebook sharing the most grade_ids with it."""
    known = released(root)
    if name is not None:
        if name not in known:
            raise CourseError(f"unknown assignment {name!r}; released assignments: {', '.join(known) or 'none'}")
        return Assignment(name, root)
    for candidate in (path.stem, path.parent.name):
        if candidate in known:
            return Assignment(candidate, root)
    for candidate in sorted(known, key=len, reverse=True):  # "01_topic (1).ipynb", "01_topic-mine.ipynb"
        if path.stem.startswith(candidate):
            return Assignment(candidate, root)
    mine = {n for n in cells_by_grade_id(nb) if n != "parameters"}
    overlap = {a: len(mine & set(cells_by_grade_id(nbformat.read(Assignment(a, root).release_notebook, 4))))
               for a in known}
    best = max(overlap, key=overlap.get, default=None)
    if best is None or overlap[best] == 0:
        raise CourseError(f"cannot tell which assignment {path.name} belongs to; pass --assignment "
                          f"(released: {', '.join(known) or 'none'})")
    return Assignment(best, root)


def run_tests(nb: nbformat.NotebookNode, release: nbformat.NotebookNode, result: Validation, *,
              profile: str, device: str, timeout: int | None) -> None:
    """Execute ``nb`` (all cells, errors allowed) and record each visible test's outcome."""
    from grader.execute import execute_notebook

    with tempfile.TemporaryDirectory(prefix="course-validate-") as workdir:
        run = execute_notebook(nb, parameters={"PROFILE": profile, "DEVICE": device}, cwd=Path(workdir),
                               cell_timeout=timeout, allow_errors=True)
    executed = run.notebook
    result.executed, result.profile, result.seconds = True, profile, round(run.seconds, 1)
    if run.crashed:
        result.execution_error = run.error
    by_id = cells_by_grade_id(executed)
    for reference in release.cells:
        if not is_test_cell(reference):
            continue
        name, worth = grade_id(reference), cells.points(reference)
        found = by_id.get(name)
        if not found:
            result.tests.append(TestResult(name, worth, MISSING, "the test cell is not in the notebook"))
        elif cells.error_output(found[0]) is not None:
            result.tests.append(TestResult(name, worth, FAILED, cells.describe_error(found[0])))
        elif found[0].get("execution_count") is None:
            result.tests.append(TestResult(name, worth, NOT_RUN, run.error or "the cell did not run"))
        else:
            result.tests.append(TestResult(name, worth, PASSED))
    source_position = 0
    for cell in executed.cells:
        if added_by_papermill(cell):
            continue
        if not is_test_cell(cell) and cells.error_output(cell) is not None:
            output = cells.error_output(cell)
            not_written = output.get("ename") == "NotImplementedError" and is_solution(cell)
            result.errors.append({
                "cell": source_position,
                "grade_id": grade_id(cell),
                "error": "not implemented yet" if not_written else cells.describe_error(cell),
            })
        source_position += 1


def validate(path: Path, root: Path, *, assignment: str | None = None, execute: bool = True,
             profile: str = "smoke", device: str = "auto", timeout: int | None = 300) -> Validation:
    try:
        nb = read_notebook(path)
    except NotebookReadError as exc:
        raise CourseError(f"{path}: {exc}") from exc
    target = find_assignment(path, nb, root, assignment)
    if not target.release_notebook.is_file():
        raise CourseError(f"released notebook {target.release_notebook} is missing")
    release = nbformat.read(target.release_notebook, as_version=4)
    shown = target.release_notebook.relative_to(root).as_posix()
    result = Validation(str(path), target.name, shown, problems=check_structure(nb, release))
    if execute:
        run_tests(nb, release, result, profile=profile, device=device, timeout=timeout)
    return result


def format_report(result: Validation) -> str:
    lines = [f"{result.notebook}: checked against {result.released}", ""]
    if result.problems:
        lines.append(f"Structure: {len(result.problems)} problem(s)")
        lines += [f"  ✗ {problem.message}" for problem in result.problems]
    else:
        lines.append("Structure: OK (every graded and locked cell present and unchanged)")
    if result.executed:
        lines += ["", f"Visible tests ({result.profile} profile, {result.seconds:.1f} s):"]
        for test in result.tests:
            mark = "✓" if test.status == PASSED else "✗"
            detail = f": {test.error}" if test.error else ""
            lines.append(f"  {mark} {test.grade_id} ({test.points:g} pt) {test.status}{detail}")
        if result.errors:
            lines += ["", "Other cells that raised an error:"]
            for error in result.errors:
                where = f"cell {error['cell']}" + (f" ({error['grade_id']})" if error["grade_id"] else "")
                lines.append(f"  ✗ {where}: {error['error']}")
        if result.execution_error:
            lines += ["", f"Execution stopped: {result.execution_error}"]
    passed = sum(test.status == PASSED for test in result.tests)
    lines.append("")
    if result.ok:
        lines.append(f"OK: ready to submit" + (f" ({passed} of {len(result.tests)} visible tests pass)." if result.executed else "."))
    else:
        lines.append("NOT OK: fix the problems above before submitting"
                     + (f" ({passed} of {len(result.tests)} visible tests pass; hidden tests are graded too)."
                        if result.executed else "."))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        root = root_from(args.root)
        if not args.notebook.is_file():
            raise CourseError(f"{args.notebook}: no such file")
        if not args.json and not args.no_execute:
            print(f"running {args.notebook.name} ({args.profile} profile)...", file=sys.stderr)
        result = validate(args.notebook, root, assignment=args.assignment, execute=not args.no_execute,
                          profile=args.profile, device=args.device, timeout=args.timeout)
    except CourseError as exc:
        if args.json:
            print(json.dumps({"notebook": str(args.notebook), "ok": False, "error": str(exc)}, indent=2))
        else:
            print(f"course validate: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result.to_json(), indent=2) if args.json else format_report(result))
    return 0 if result.ok else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check a notebook before submitting: structure intact, visible tests pass",
        description=textwrap.fill(
            "Check an assignment notebook before submitting it: (1) its structure against the released "
            "version (no deleted, retyped or edited locked cells, nbgrader metadata intact) and (2) its "
            "visible tests, by running the notebook with the smoke profile. Exit status 0 only when both "
            "are clean, 1 when something needs fixing, 2 when the notebook cannot be checked."
        ),
        epilog="examples:\n  course validate assignments/01_bow_naive_bayes/01_bow_naive_bayes.ipynb\n"
               "  course validate my_copy.ipynb --assignment 01_bow_naive_bayes --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("notebook", type=Path, metavar="NOTEBOOK", help="the notebook to check")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--assignment", metavar="A",
                        help="assignment it belongs to (default: from the file name or its cells)")
    parser.add_argument("--no-execute", action="store_true", help="check the structure only; run nothing")
    parser.add_argument("--profile", default="smoke", help="PROFILE to run with (default: smoke)")
    parser.add_argument("--device", default="auto", help="DEVICE to run with (default: auto)")
    parser.add_argument("--timeout", type=int, default=300, metavar="S", help="per-cell time limit in seconds (default: 300)")
    parser.add_argument("--root", metavar="DIR", help="course root (default: found from here)")
    parser.set_defaults(func=run)
