"""``course generate``: build the student versions (``assignments/``) from the solutions.

nbgrader's ``generate_assignment`` does the work (solutions replaced by the stub, hidden tests
and outputs removed, cells locked, checksums recorded). It runs in a scratch course folder with no
gradebook, so the instructor's gradebook is never touched, and its output is then made
byte-stable: every cell gets a fixed id (the source's id, else one derived from its grade_id or
position) and the JSON is written in nbformat's canonical form. Generating twice gives identical
bytes, which is what makes ``course generate --check`` (committed versions in sync) meaningful.
"""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import re
import shutil
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from tqdm import tqdm

from grader import cells, notebooks
from grader.assignments import CONFIG_FILE, IGNORED_DIRS, Assignment, CourseError, released, root_from, select

DEFAULT_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
_ID_CHARS = re.compile(r"[^A-Za-z0-9_-]")


def _nbgrader_config(root: Path, scratch: Path, name: str):
    """nbgrader settings: the course's own ``nbgrader_config.py`` (stub, delimiters), with the
    course folders pointed at the scratch copy and the gradebook switched off."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    if (root / CONFIG_FILE).is_file():
        config.merge(PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config())
    if "code_stub" not in config.ClearSolutions:
        config.ClearSolutions.code_stub = {"python": DEFAULT_STUB}
    config.CourseDirectory.root = str(scratch)
    config.CourseDirectory.source_directory = "source"
    config.CourseDirectory.release_directory = "release"
    config.CourseDirectory.db_url = f"sqlite:///{scratch / 'unused.db'}"
    config.CourseDirectory.assignment_id = name
    config.CourseDirectory.notebook_id = "*"
    config.GenerateAssignment.no_database = True
    config.GenerateAssignment.force = True
    return config


def _run_nbgrader(assignment: Assignment, scratch: Path) -> Path:
    """Run nbgrader generate_assignment on a scratch copy; return the released folder."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import SaveCells

    shutil.copytree(
        assignment.source_dir,
        scratch / "source" / assignment.name,
        ignore=shutil.ignore_patterns(*IGNORED_DIRS),
    )
    config = _nbgrader_config(assignment.root, scratch, assignment.name)
    converter = GenerateAssignment(coursedir=CourseDirectory(config=config), config=config)
    # SaveCells writes the gradebook; without a database it is the one step to leave out.
    converter.preprocessors = [step for step in converter.preprocessors if step is not SaveCells]

    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(self.format(record))

    handler = Collect(level=logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    log = converter.log
    saved = (log.handlers[:], log.propagate, log.level)
    log.handlers, log.propagate = [handler], False
    log.setLevel(logging.WARNING)
    try:
        converter.start()
    except Exception as exc:
        raise CourseError(f"nbgrader could not generate {assignment.name}:\n" + _reasons(messages)) from exc
    finally:
        log.handlers, log.propagate = saved[0], saved[1]
        log.setLevel(saved[2])
    return scratch / "release" / assignment.name


def _reasons(messages: list[str]) -> str:
    """nbgrader's log, cut to what says why: the last line of each traceback, no boilerplate."""
    reasons: list[str] = []
    for message in messages:
        lines = [line.strip() for line in message.splitlines() if line.strip()]
        if not lines or "see the the above" in lines[-1] or "There was an error processing" in lines[-1]:
            continue
        reason = lines[-1].removeprefix("ERROR: ").removeprefix("WARNING: ")
        if reason not in reasons:
            reasons.append(reason)
    return "\n".join(f"  {reason}" for reason in reasons) or "  (nbgrader gave no reason)"


def _source_ids(path: Path) -> list[str | None]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return [cell.get("id") for cell in raw.get("cells", [])]


def stable_notebook(released: Path, source: Path) -> str:
    """The released notebook as canonical, deterministic JSON text.

    Cell ids come from the source notebook when it has them (nbgrader keeps the cell order);
    missing ids are derived from the grade_id or the position, never drawn at random.
    """
    nb = nbformat.read(released, as_version=4)
    source_ids = _source_ids(source) if source.is_file() else []
    if len(source_ids) != len(nb.cells):
        source_ids = [None] * len(nb.cells)
    nb.nbformat, nb.nbformat_minor = 4, max(5, int(nb.get("nbformat_minor", 5)))
    used: set[str] = set()
    for index, (cell, source_id) in enumerate(zip(nb.cells, source_ids)):
        candidate = source_id or _ID_CHARS.sub("-", notebooks.grade_id(cell) or "")[:64] or f"cell-{index}"
        if candidate in used:
            candidate = f"cell-{index}"
        used.add(candidate)
        cell.id = candidate
    cells.clear_outputs(nb)
    nbformat.validate(nb)
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def generate_assignment(assignment: Assignment, dest: Path) -> list[Path]:
    """Write the student version of ``assignment`` into folder ``dest``; return the files written
    (relative to ``dest``). ``dest`` is emptied first, so it ends up exactly the release."""
    with tempfile.TemporaryDirectory(prefix="course-generate-") as scratch:
        release = _run_nbgrader(assignment, Path(scratch))
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        written = []
        for path in sorted(release.rglob("*")):
            if not path.is_file():
                continue
            relative = path.relative_to(release)
            target = dest / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix == ".ipynb":
                target.write_text(stable_notebook(path, assignment.source_dir / relative), encoding="utf-8")
            else:
                shutil.copyfile(path, target)
            written.append(relative)
    return written


@dataclass
class Drift:
    """One way a committed student version differs from a fresh generation."""

    path: str
    kind: str  # "missing", "differs", "extra" or "orphan"
    details: list[str] = field(default_factory=list)


def _cell_key(cell: nbformat.NotebookNode, index: int) -> str:
    return notebooks.grade_id(cell) or f"#{index}"


def notebook_diff(committed: str, fresh: str) -> list[str]:
    """A short summary of how the committed notebook text differs from the fresh one."""
    details: list[str] = []
    try:
        old, new = nbformat.reads(committed, as_version=4), nbformat.reads(fresh, as_version=4)
    except Exception as exc:  # not even a notebook: fall back to the line count below
        details.append(f"committed file does not parse as a notebook ({exc})")
    else:
        old_keys = [_cell_key(c, i) for i, c in enumerate(old.cells)]
        new_keys = [_cell_key(c, i) for i, c in enumerate(new.cells)]
        old_cells, new_cells = dict(zip(old_keys, old.cells)), dict(zip(new_keys, new.cells))
        ids_only = 0
        for key in new_keys:
            if key not in old_cells:
                details.append(f"cell {key}: missing from the committed version")
                continue
            a, b = old_cells[key], new_cells[key]
            changed = [part for part in ("cell_type", "source", "metadata", "outputs", "execution_count", "id")
                       if a.get(part) != b.get(part)]
            if changed == ["id"]:
                ids_only += 1
            elif changed:
                details.append(f"cell {key}: {', '.join(changed)} changed")
        if ids_only:
            details.append(f"{ids_only} cell(s): only the cell id changed")
        details += [f"cell {key}: in the committed version only" for key in old_keys if key not in new_cells]
        if [k for k in old_keys if k in new_cells] != [k for k in new_keys if k in old_cells]:
            details.append("cells are in a different order")
        if old.metadata != new.metadata:
            details.append("notebook metadata changed")
        if (old.nbformat, old.nbformat_minor) != (new.nbformat, new.nbformat_minor):
            details.append(f"nbformat {old.nbformat}.{old.nbformat_minor} instead of {new.nbformat}.{new.nbformat_minor}")
    if len(details) > 10:
        details = details[:9] + [f"... and {len(details) - 9} more"]
    lines = list(difflib.unified_diff(committed.splitlines(), fresh.splitlines(), lineterm="", n=0))
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    details.append(f"{removed} line(s) would be removed, {added} added")
    return details


def check(root: Path, assignments: list[Assignment], *, all_selected: bool, progress: bool = True) -> list[Drift]:
    """Regenerate into a scratch folder and compare with the committed student versions."""
    drifts: list[Drift] = []
    with tempfile.TemporaryDirectory(prefix="course-generate-check-") as scratch:
        for assignment in tqdm(assignments, desc="generate --check", unit="assignment", disable=not progress):
            fresh_dir = Path(scratch) / assignment.name
            fresh_files = set(generate_assignment(assignment, fresh_dir))
            committed_dir = assignment.release_dir
            committed_files = {
                p.relative_to(committed_dir) for p in committed_dir.rglob("*")
                if p.is_file() and not IGNORED_DIRS.intersection(p.relative_to(committed_dir).parts)
            } if committed_dir.is_dir() else set()
            for relative in sorted(fresh_files | committed_files):
                shown = (committed_dir / relative).relative_to(root).as_posix()
                if relative not in committed_files:
                    drifts.append(Drift(shown, "missing", ["run `course generate` and commit the result"]))
                elif relative not in fresh_files:
                    drifts.append(Drift(shown, "extra", ["not produced from solutions/; delete it or add its source"]))
                else:
                    committed = (committed_dir / relative).read_bytes()
                    fresh = (fresh_dir / relative).read_bytes()
                    if committed != fresh:
                        details = (notebook_diff(committed.decode("utf-8", "replace"), fresh.decode("utf-8"))
                                   if relative.suffix == ".ipynb" else ["contents differ"])
                        drifts.append(Drift(shown, "differs", details))
    if all_selected:
        sources = {a.name for a in assignments}
        for name in released(root):
            if name not in sources:
                drifts.append(Drift(f"assignments/{name}/", "orphan", [f"no solutions/{name}/ to generate it from"]))
    return drifts


def _summary(notebook: Path) -> str:
    nb = nbformat.read(notebook, as_version=4)
    tests = notebooks.test_cells(nb)
    solutions = sum(1 for c in nb.cells if notebooks.is_solution(c))
    total = sum(tests.values())
    return f"{len(nb.cells)} cells, {solutions} to write, {len(tests)} tests worth {total:g} points"


def run(args: argparse.Namespace) -> int:
    try:
        root = root_from(args.root)
        assignments = select(root, args.assignment)
        if args.check:
            drifts = check(root, assignments, all_selected=args.assignment is None, progress=not args.quiet)
            if not drifts:
                print(f"student versions in sync: {', '.join(a.name for a in assignments)}")
                return 0
            print(f"{len(drifts)} student version file(s) out of sync with solutions/:", file=sys.stderr)
            for drift in drifts:
                print(f"  {drift.path}: {drift.kind}", file=sys.stderr)
                for line in drift.details:
                    print(f"      {line}", file=sys.stderr)
            print("run `course generate` and commit assignments/ to fix this.", file=sys.stderr)
            return 1
        for assignment in tqdm(assignments, desc="generate", unit="assignment", disable=args.quiet):
            before = {p: p.read_bytes() for p in assignment.release_dir.rglob("*") if p.is_file()} \
                if assignment.release_dir.is_dir() else {}
            written = generate_assignment(assignment, assignment.release_dir)
            for relative in written:
                target = assignment.release_dir / relative
                state = "unchanged" if before.get(target) == target.read_bytes() else "written"
                about = f" ({_summary(target)})" if target.suffix == ".ipynb" else ""
                tqdm.write(f"{target.relative_to(root).as_posix()}: {state}{about}")
            for gone in sorted(set(before) - {assignment.release_dir / r for r in written}):
                tqdm.write(f"{gone.relative_to(root).as_posix()}: removed (not produced from solutions/)")
        return 0
    except CourseError as exc:
        print(f"course generate: error: {exc}", file=sys.stderr)
        return 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="build the student versions in assignments/ from solutions/ (nbgrader)",
        description=textwrap.fill(
            "Build assignments/A/A.ipynb from solutions/A/A.ipynb with nbgrader generate_assignment: "
            "solutions replaced by the stub, hidden tests and outputs removed, cells locked. "
            "The output is byte-stable, so --check can verify the committed versions are in sync."
        ),
        epilog="examples:\n  course generate\n  course generate 01_bow_naive_bayes\n  course generate --check",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("assignment", nargs="?", metavar="ASSIGNMENT",
                        help="assignment to generate (a folder name under solutions/); all when omitted")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a committed student version is missing or differs")
    parser.add_argument("--root", metavar="DIR",
                        help="course root (the folder with nbgrader_config.py); found from here by default")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
