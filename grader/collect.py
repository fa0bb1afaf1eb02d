"""``course collect``: a class's submissions (an LMS zip or a folder) -> nbgrader's layout.

Each student's notebook lands, byte for byte, in ``grading/<A>/submitted/<student>/<A>/<A>.ipynb``.
Nothing is executed or even parsed here; ``course autograde`` reports unreadable notebooks.
"""

from __future__ import annotations

import argparse
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader.workspace import Workspace

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")
MAX_NOTEBOOK_BYTES = 100 << 20
SKIPPED_PARTS = ("__MACOSX", ".ipynb_checkpoints")

NAMING_RULE = """\
naming rule (one notebook per student, anywhere inside the ZIP or folder):
  <student>_<A>.ipynb     e.g. alice_01_bow_naive_bayes.ipynb (LMS export)
  <student>/<A>.ipynb     e.g. alice/01_bow_naive_bayes.ipynb (a folder per student)
where <A> is the assignment id. The file name wins: alice/bob_<A>.ipynb belongs to bob.
Student ids use letters, digits and . _ - @ (not first). Hidden files, __MACOSX/ and
.ipynb_checkpoints/ are skipped; other files are listed as ignored. A notebook that fits
neither pattern, or a second notebook for the same student, is reported and not collected
(fix the archive and collect again). Collecting again replaces a student's notebook."""


class InvalidStudentId(ValueError):
    pass


def check_student_id(student: str) -> str:
    if not STUDENT_ID.match(student):
        raise InvalidStudentId(
            f"invalid student id {student!r}: use letters, digits and . _ - @ (not as the first character)")
    return student


def student_of(name: str, assignment: str) -> str:
    """The student a member path (``a/b/c.ipynb``, POSIX separators) belongs to, by the naming rule.

    Raises :class:`InvalidStudentId` (with a reason) when the path fits no pattern.
    """
    path = PurePosixPath(name)
    suffix = f"_{assignment}.ipynb"
    if path.name.endswith(suffix) and len(path.name) > len(suffix):
        return check_student_id(path.name[: -len(suffix)])
    if path.name == f"{assignment}.ipynb":
        if len(path.parts) < 2:
            raise InvalidStudentId(f"{name}: no student id (expected <student>/{path.name} or <student>_{path.name})")
        return check_student_id(path.parts[-2])
    raise InvalidStudentId(
        f"{name}: not named after the assignment (expected <student>_{assignment}.ipynb or <student>/{assignment}.ipynb)")


@dataclass
class Collected:
    """What :func:`collect` did: ``students`` maps each collected student to the member it came from."""

    students: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _members(source: Path) -> list[tuple[str, Callable[[], bytes], int]]:
    """(POSIX name, reader, size) of every file in a zip or below a folder."""
    if source.is_dir():
        files = sorted(p for p in source.rglob("*") if p.is_file())
        return [(p.relative_to(source).as_posix(), p.read_bytes, p.stat().st_size) for p in files]
    with zipfile.ZipFile(source) as archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
    members = []
    for info in infos:
        def read(info: zipfile.ZipInfo = info) -> bytes:
            with zipfile.ZipFile(source) as archive:
                return archive.read(info)
        members.append((info.filename.replace("\\", "/"), read, info.file_size))
    return members


def collect(workspace: Workspace, source: Path) -> Collected:
    """Copy every student's notebook from ``source`` (zip or folder) into ``workspace``."""
    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(f"{source} does not exist")
    if source.is_file() and not zipfile.is_zipfile(source):
        raise ValueError(f"{source} is neither a zip archive nor a folder")
    report = Collected()
    found: dict[str, list[tuple[str, Callable[[], bytes], int]]] = {}
    for name, read, size in _members(source):
        parts = PurePosixPath(name).parts
        if any(part in SKIPPED_PARTS or part.startswith(".") for part in parts):
            continue
        if not name.endswith(".ipynb"):
            report.ignored.append(f"{name} (not a notebook)")
            continue
        try:
            student = student_of(name, workspace.assignment)
        except InvalidStudentId as exc:
            report.problems.append(str(exc))
            continue
        found.setdefault(student, []).append((name, read, size))
    for student, entries in sorted(found.items()):
        if len(entries) > 1:
            names = ", ".join(name for name, _, _ in entries)
            report.problems.append(f"student {student} has {len(entries)} notebooks ({names}): keep one and collect again")
            continue
        name, read, size = entries[0]
        if size > MAX_NOTEBOOK_BYTES:
            report.problems.append(f"{name}: {size >> 20} MiB, larger than the {MAX_NOTEBOOK_BYTES >> 20} MiB limit")
            continue
        target = workspace.submitted(student)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(read())
        report.students[student] = name
    return report


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "collect", help="gather a class's notebooks (LMS zip or folder) for grading",
        description="Copy each student's notebook from an LMS zip or a folder into "
                    "grading/<A>/submitted/<student>/<A>/<A>.ipynb (nbgrader's layout).",
        epilog=NAMING_RULE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment", help="assignment id, e.g. 01_bow_naive_bayes")
    parser.add_argument("source", type=Path, help="zip archive or folder of submissions")
    parser.add_argument("--workdir", type=Path, default=None, help="grading area (default: grading/<A>)")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    workspace = Workspace.create(args.assignment, args.workdir)
    try:
        report = collect(workspace, args.source)
    except (FileNotFoundError, ValueError, zipfile.BadZipFile) as exc:
        print(f"course collect: {exc}")
        return 2
    for student, name in report.students.items():
        print(f"  collected  {student:<20} <- {name}")
    for line in report.ignored:
        print(f"  ignored    {line}")
    for line in report.problems:
        print(f"  PROBLEM    {line}")
    print(f"{len(report.students)} notebook(s) collected into {workspace.workdir / 'submitted'}"
          + (f"; {len(report.problems)} problem(s) above, those notebooks were not collected" if report.problems else ""))
    if not report.students:
        return 2
    return 1 if report.problems else 0
