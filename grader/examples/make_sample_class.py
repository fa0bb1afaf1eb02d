"""Build a synthetic class for an assignment, packed as an LMS-style zip.

Every student is derived from the solution notebook and the released (student) notebook at the
moment this runs, so the sample class never drifts from the assignment:

=========  =====================================================  ==================================
student    submission                                             expected grade
=========  =====================================================  ==================================
correct    the released notebook with the solution's code typed    full marks
stub       the released notebook as handed out                     0
partial    the first half of the solution cells solved             between 0 and full marks
loop       correct, but ``while True: pass`` opens the last        status timeout; the other tests
           solution cell                                           still graded
tampered   the stub with its first visible test edited to          0 (the test is restored), flagged
           ``assert True``
corrupt    the correct notebook cut in half (invalid JSON)         0, status error with the reason
=========  =====================================================  ==================================

Usage: ``python -m grader.examples.make_sample_class [ASSIGNMENT] [--out ZIP]``
(default: 01_bow_naive_bayes into build/demo/sample_class_<A>.zip).
"""

from __future__ import annotations

import argparse
import copy
import io
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from grader import notebooks as nbs  # noqa: E402
from grader.assignments import find_root  # noqa: E402
from grader.workspace import Workspace  # noqa: E402

DEFAULT_ASSIGNMENT = "01_bow_naive_bayes"

EXPECTED = {
    "correct": "full marks",
    "stub": "0",
    "partial": "between 0 and full marks",
    "loop": "timeout in its last solution cell; its other tests still graded",
    "tampered": "0 and flagged as tampered (the edited test is restored)",
    "corrupt": "0, error: not a notebook (invalid JSON)",
}


def _released(assignment: str, course_root: Path) -> nbformat.NotebookNode:
    committed = course_root / "assignments" / assignment / f"{assignment}.ipynb"
    if committed.exists():
        return nbs.read_notebook(committed)
    with tempfile.TemporaryDirectory(prefix="sample-release-") as scratch:
        workspace = Workspace.create(assignment, Path(scratch), course_root)
        workspace.prepare()
        return nbs.read_notebook(workspace.release_dir / f"{assignment}.ipynb")


def _edit(nb: nbformat.NotebookNode, name: str, change) -> nbformat.NotebookNode:
    for cell in nb.cells:
        if nbs.grade_id(cell) == name:
            cell.source = change(cell.source)
    return nb


def sample_class(assignment: str, course_root: Path | None = None) -> dict[str, bytes]:
    """``student -> submitted file bytes`` for the six synthetic students."""
    root = course_root or find_root()
    source = nbs.read_notebook(root / "solutions" / assignment / f"{assignment}.ipynb")
    released = _released(assignment, root)
    solutions = nbs.solution_cell_ids(released)
    tests = list(nbs.test_cells(released))
    if not solutions or not tests:
        raise ValueError(f"{assignment}: the released notebook has no solution cells or no test cells")

    correct = nbs.solved_notebook(released, source)
    partial = nbs.solved_notebook(released, source, solutions[: max(1, len(solutions) // 2)])
    loop = _edit(copy.deepcopy(correct), solutions[-1],
                 lambda text: "while True:  # never ends: the cell time limit stops it\n    pass\n\n" + text)
    tampered = _edit(copy.deepcopy(released), tests[0], lambda text: "assert True")
    correct_text = nbformat.writes(correct)
    return {
        "correct": correct_text.encode(),
        "stub": nbformat.writes(released).encode(),
        "partial": nbformat.writes(partial).encode(),
        "loop": nbformat.writes(loop).encode(),
        "tampered": nbformat.writes(tampered).encode(),
        "corrupt": correct_text[: len(correct_text) // 2].encode(),
    }


def write_zip(assignment: str, out: Path, course_root: Path | None = None) -> Path:
    """Pack the sample class like an LMS export: both naming rules, plus a file that is not a notebook."""
    files = sample_class(assignment, course_root)
    out.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, (student, data) in enumerate(sorted(files.items())):
            # half the class as <student>_<A>.ipynb, half as <student>/<A>.ipynb
            name = f"{student}_{assignment}.ipynb" if number % 2 == 0 else f"{student}/{assignment}.ipynb"
            archive.writestr(f"submissions/{name}", data)
        archive.writestr("submissions/README.txt", "Exported from the course LMS.\n")
    out.write_bytes(buffer.getvalue())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build a synthetic class (LMS-style zip) for an assignment.")
    parser.add_argument("assignment", nargs="?", default=DEFAULT_ASSIGNMENT)
    parser.add_argument("--out", type=Path, default=None, help="zip to write (default: build/demo/sample_class_<A>.zip)")
    args = parser.parse_args(argv)
    root = find_root()
    out = args.out or root / "build" / "demo" / f"sample_class_{args.assignment}.zip"
    write_zip(args.assignment, out, root)
    print(f"wrote {out}")
    for student, expected in EXPECTED.items():
        print(f"  {student:<9} expected: {expected}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
