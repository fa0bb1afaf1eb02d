"""Step 2, sanitize: restore the locked and hidden test cells, clear outputs, detect tampering,
and add the guard cells that catch monkeypatched test helpers (:mod:`grader.guard`).

nbgrader does the restoring: ``autograde`` with execution disabled, run against a SCRATCH gradebook
into a scratch folder (its scores are meaningless, since nothing ran, and never reach the real
gradebook). Its own tampering signal is useless (the checksum warning fires for every notebook with
hidden tests, and a tampered cell is restored silently), so tampering is detected here: each
submitted locked or graded cell is compared, by grade_id, with the notebook students were given.
"""

from __future__ import annotations

import copy
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader import guard
from grader import notebooks as nbs
from grader.cells import source_changed
from grader.workspace import NbgraderError, Workspace


@dataclass
class Sanitized:
    """Outcome of the sanitize step for one student.

    ``notebook`` is the sanitized notebook ready to execute (``None`` when ``error`` is set);
    ``tampering`` lists what changed in protected cells (empty when nothing did).
    """

    student: str
    notebook: Path | None
    tampering: list[str] = field(default_factory=list)
    error: str | None = None


def _flags(cell: nbformat.NotebookNode) -> tuple:
    meta = nbs.nbgrader_meta(cell)
    return (bool(meta.get("grade")), bool(meta.get("solution")), nbs.is_locked(cell),
            float(meta.get("points", 0) or 0) if meta.get("grade") else None)


def find_tampering(submitted: nbformat.NotebookNode, released: nbformat.NotebookNode) -> list[str]:
    """What a student changed in cells they must not change, one phrase per problem.

    Locked and graded cells must be present, keep their type, nbgrader flags and points, and every
    copy of them must keep the released source. Solution cells may be edited, but not deleted or
    retyped. A graded cell the released notebook does not have is an addition. Identical copies
    (a cell duplicated by copy-paste) are harmless and not reported.
    """
    problems: list[str] = []
    submitted_cells = nbs.cells_by_grade_id(submitted)
    released_cells = nbs.cells_by_grade_id(released)
    for name, (original, *_) in released_cells.items():
        copies = submitted_cells.get(name, [])
        protected = nbs.is_locked(original)
        if not protected and not nbs.is_solution(original):
            continue
        if not copies:
            problems.append(f"{name}: deleted")
            continue
        for copy in copies:
            if copy.cell_type != original.cell_type:
                problems.append(f"{name}: cell type changed from {original.cell_type} to {copy.cell_type}")
            elif _flags(copy) != _flags(original):
                problems.append(f"{name}: nbgrader settings changed (graded/solution/locked/points)")
            elif protected and source_changed(original, copy):
                problems.append(f"{name}: locked cell edited")
            else:
                continue
            break
    for name, copies in submitted_cells.items():
        if name not in released_cells and any(nbs.is_graded(c) or nbs.is_locked(c) for c in copies):
            problems.append(f"{name}: graded or locked cell that the released notebook does not have")
    problems += [f"{name}: moved out of its place among the graded cells" for name in moved_cells(submitted, released)]
    return problems


def moved_cells(submitted: nbformat.NotebookNode, released: nbformat.NotebookNode) -> list[str]:
    """grade_ids of the cells a student moved: the fewest cells whose removal leaves the released order.

    That is every cell outside a longest subsequence of the submitted order that keeps the
    released order; cells nbgrader knows (solution, graded, locked) are compared by first copy.
    """
    position = {name: index for index, name in enumerate(nbs.cells_by_grade_id(released))}
    order = list(dict.fromkeys(name for cell in submitted.cells if (name := nbs.grade_id(cell)) in position))
    ranks = [position[name] for name in order]
    best: list[list[int]] = []  # best[i]: a longest increasing run of ranks ending at i (O(n^2), n is small)
    for i, rank in enumerate(ranks):
        before = [best[j] for j in range(i) if ranks[j] < rank]
        best.append(max(before, key=len, default=[]) + [i])
    kept = set(max(best, key=len, default=[]))
    return [name for i, name in enumerate(order) if i not in kept]


def _strip_unknown_ids(nb: nbformat.NotebookNode, known: set[str]) -> None:
    """Drop nbgrader metadata of cells the gradebook does not know, and of every copy of a cell but
    the first (nbgrader stops with a KeyError on either, nbgrader#1941). The copies still run."""
    seen: set[str] = set()
    for cell in nb.cells:
        name = nbs.grade_id(cell)
        if name and (name not in known or name in seen):
            cell.metadata.pop("nbgrader", None)
        seen.add(name)


def _restore_protected(nb: nbformat.NotebookNode, released: nbformat.NotebookNode) -> None:
    """Put back, in place, the locked and graded cells a student deleted or retyped, as released.

    A deleted cell goes back right after the cell that preceded it in the released notebook (or
    first). nbgrader's own ``add_missing_cells`` fails when the neighbour it looks for is not a
    cell it knows, and it keeps a retyped cell's new type.
    """
    present = {nbs.grade_id(cell): index for index, cell in enumerate(nb.cells) if nbs.grade_id(cell)}
    previous = None
    for original in released.cells:
        name = nbs.grade_id(original)
        if not name:
            continue
        protected = nbs.is_locked(original) or nbs.is_graded(original)
        if protected and name in present and nb.cells[present[name]].cell_type != original.cell_type:
            nb.cells[present[name]] = copy.deepcopy(original)
        elif protected and name not in present:
            at = present[previous] + 1 if previous in present else 0
            nb.cells.insert(at, copy.deepcopy(original))
            present = {nbs.grade_id(cell): index for index, cell in enumerate(nb.cells) if nbs.grade_id(cell)}
        previous = name


def sanitize(workspace: Workspace, student: str, submission: Path, released: nbformat.NotebookNode) -> Sanitized:
    """Sanitize one submission into ``scratch/autograded``; never raises for a bad submission."""
    try:
        nb = nbs.read_notebook(submission)
    except nbs.NotebookReadError as exc:
        return Sanitized(student, None, error=str(exc))
    tampering = find_tampering(nb, released)
    _strip_unknown_ids(nb, set(nbs.cells_by_grade_id(released)))
    _restore_protected(nb, released)

    staged = workspace.scratch_input(student)
    staged.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, staged)
    try:
        from nbgrader.converters import Autograde

        workspace.run_nbgrader(
            Autograde, db=workspace.scratch_gradebook, student=student,
            directories={"submitted_directory": "scratch/submitted", "autograded_directory": "scratch/autograded"},
            settings={"Autograde.force": True, "Execute.enabled": False,
                      # a deleted test cell comes back (and is executed and graded); it is reported above
                      "OverwriteCells.add_missing_cells": True},
        )
    except NbgraderError as exc:
        return Sanitized(student, None, tampering, error=f"nbgrader could not sanitize the notebook: {exc}")
    _finish(workspace.sanitized(student))
    return Sanitized(student, workspace.sanitized(student), tampering)


def _finish(path: Path) -> None:
    """Give the cells nbgrader put back an ``id`` (nbformat warns about every cell without one on
    each later read) and add the guard cells that catch monkeypatched test helpers."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if not cell.get("id"):
            cell["id"] = uuid.uuid4().hex[:8]
    guard.protect(nb)
    path.chmod(0o644)
    nbformat.write(nb, path)
