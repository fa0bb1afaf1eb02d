"""The grading work area of one assignment: an nbgrader course directory of its own.

``grading/<A>/`` (gitignored) holds everything about grading assignment ``<A>``::

    nbgrader_config.py                  lets nbgrader's own tools (formgrader, db) run here
    gradebook.db                        the real gradebook: only executed, graded notebooks reach it
    source/<A>/                         snapshot of solutions/<A>/ (nbgrader source)
    release/<A>/<A>.ipynb               student version regenerated from the snapshot
    submitted/<student>/<A>/<A>.ipynb   submissions as collected, never modified
    scratch/                            sanitize pass: its own gradebook and output (bogus scores)
    executed/<student>/<A>/<A>.ipynb    sanitized, executed notebooks, the input of the grade step
    autograded/<student>/<A>/<A>.ipynb  nbgrader's graded copies
    results/<student>.json              one record per student; grades.csv is rebuilt from these
    feedback/<student>.html             what a student may see (no hidden tests)
    grades.csv  summary.json  scores.png
    logs/nbgrader.log

nbgrader runs in-process with an explicit configuration (never the repository's
``nbgrader_config.py``, whose gradebook is ``build/gradebook.db``).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from traitlets.config import Config

from grader.assignments import find_root


class NbgraderError(Exception):
    """nbgrader failed on one student or on the assignment; the message carries its log lines."""


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors.append(record.getMessage())


@dataclass
class Workspace:
    """Paths of one assignment's grading area plus the nbgrader runs that use them."""

    assignment: str
    workdir: Path
    course_root: Path

    @classmethod
    def create(cls, assignment: str, workdir: Path | None = None, course_root: Path | None = None) -> "Workspace":
        root = Path(course_root).resolve() if course_root else find_root()
        work = Path(workdir) if workdir else root / "grading" / assignment
        return cls(assignment, work.resolve(), root)

    # --- course (read-only) -------------------------------------------------------------------
    @property
    def solution_dir(self) -> Path:
        return self.course_root / "solutions" / self.assignment

    @property
    def solution_notebook(self) -> Path:
        return self.solution_dir / f"{self.assignment}.ipynb"

    @property
    def released_notebook(self) -> Path:
        """What students were given: ``assignments/<A>/<A>.ipynb``, or the regenerated release
        while the committed one does not exist yet."""
        committed = self.course_root / "assignments" / self.assignment / f"{self.assignment}.ipynb"
        return committed if committed.exists() else self.release_dir / f"{self.assignment}.ipynb"

    # --- work area ----------------------------------------------------------------------------
    @property
    def gradebook(self) -> Path:
        return self.workdir / "gradebook.db"

    @property
    def scratch(self) -> Path:
        return self.workdir / "scratch"

    @property
    def scratch_gradebook(self) -> Path:
        return self.scratch / "gradebook.db"

    @property
    def release_dir(self) -> Path:
        return self.workdir / "release" / self.assignment

    def _nb(self, area: str, student: str) -> Path:
        return self.workdir / area / student / self.assignment / f"{self.assignment}.ipynb"

    def submitted(self, student: str) -> Path:
        return self._nb("submitted", student)

    def scratch_input(self, student: str) -> Path:
        return self.scratch / "submitted" / student / self.assignment / f"{self.assignment}.ipynb"

    def sanitized(self, student: str) -> Path:
        return self.scratch / "autograded" / student / self.assignment / f"{self.assignment}.ipynb"

    def executed(self, student: str) -> Path:
        return self._nb("executed", student)

    def autograded(self, student: str) -> Path:
        return self._nb("autograded", student)

    def run_notebook(self, student: str) -> Path:
        """The notebook as the kernel left it (before grading adjusts it), kept to resume a batch."""
        return self.workdir / "runs" / f"{student}.ipynb"

    def run_record(self, student: str) -> Path:
        """What executing ``run_notebook`` gave, and the hash of what was executed."""
        return self.workdir / "runs" / f"{student}.json"

    def result_file(self, student: str) -> Path:
        return self.workdir / "results" / f"{student}.json"

    def feedback_file(self, student: str) -> Path:
        return self.workdir / "feedback" / f"{student}.html"

    def collected_students(self) -> list[str]:
        folder = self.workdir / "submitted"
        if not folder.is_dir():
            return []
        return sorted(p.parent.parent.name for p in folder.glob(f"*/{self.assignment}/{self.assignment}.ipynb"))

    # --- set-up -------------------------------------------------------------------------------
    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the work area for one grading run; a second run on the same area fails clearly."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.workdir / ".lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                raise NbgraderError(f"another grading run is using {self.workdir}; wait for it to finish") from exc
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def prepare(self) -> list[str]:
        """Snapshot the source, (re)generate the release, load the assignment into both gradebooks.

        Returns notes for the user (e.g. the gradebook was archived because the source changed).
        Raises :class:`NbgraderError` when the source notebook is missing or nbgrader rejects it.
        """
        if not self.solution_notebook.exists():
            raise NbgraderError(f"no source notebook: {self.solution_notebook} does not exist")
        notes: list[str] = []
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "logs").mkdir(exist_ok=True)
        self._write_config()

        fingerprint = _tree_digest(self.solution_dir)
        stamp = self.workdir / "source.sha256"
        if self.gradebook.exists() and stamp.exists() and stamp.read_text().strip() != fingerprint:
            archived = self.gradebook.with_name(f"gradebook.{time.strftime('%Y%m%d-%H%M%S')}.db")
            self.gradebook.rename(archived)
            shutil.rmtree(self.workdir / "results", ignore_errors=True)
            notes.append(f"the source notebook changed since the last grading: old gradebook kept as "
                         f"{archived.name}; earlier results were dropped, grade every student again")

        source_copy = self.workdir / "source" / self.assignment
        shutil.rmtree(source_copy, ignore_errors=True)
        shutil.copytree(self.solution_dir, source_copy,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))

        shutil.rmtree(self.scratch, ignore_errors=True)
        self.scratch.mkdir(parents=True)
        self.generate(self.gradebook, "release")
        # the sanitize pass needs the assignment in a gradebook of its own; a copy is much cheaper
        # than a second generate (a new gradebook costs an alembic subprocess)
        shutil.copyfile(self.gradebook, self.scratch_gradebook)
        stamp.write_text(fingerprint + "\n")
        return notes

    def generate(self, db: Path, release_directory: str) -> None:
        from nbgrader.converters import GenerateAssignment

        self.run_nbgrader(GenerateAssignment, db=db, student=".",
                          directories={"release_directory": release_directory},
                          settings={"GenerateAssignment.force": True})

    def run_nbgrader(self, converter_class: Any, *, db: Path, student: str,
                     directories: dict[str, str] | None = None, settings: dict[str, Any] | None = None) -> None:
        """Run one nbgrader converter in-process on this work area; raise NbgraderError with its
        error log lines when it fails. Its full log goes to ``logs/nbgrader.log``."""
        from nbgrader.converters.base import NbGraderException
        from nbgrader.coursedir import CourseDirectory

        _ensure_on_path(Path(sys.executable).parent)  # nbgrader calls the `alembic` script by name

        config = self.course_config()
        course = config.CourseDirectory
        course.root = str(self.workdir)
        course.db_url = f"sqlite:///{db}"
        course.assignment_id = self.assignment
        course.student_id = student
        course.source_directory = "source"
        course.release_directory = "release"
        course.submitted_directory = "submitted"
        course.autograded_directory = "autograded"
        course.feedback_directory = "nbgrader_feedback"
        for name, value in (directories or {}).items():
            setattr(course, name, value)
        for dotted, value in (settings or {}).items():
            section, name = dotted.split(".")
            setattr(config[section], name, value)

        logger = logging.getLogger(f"grader.nbgrader.{id(config)}")
        logger.propagate = False
        logger.setLevel(logging.INFO)
        capture = _Capture()
        log_file = logging.FileHandler(self.workdir / "logs" / "nbgrader.log", encoding="utf-8")
        log_file.setFormatter(logging.Formatter(f"%(asctime)s [{converter_class.__name__} {student}] "
                                                "%(levelname)s %(message)s"))
        logger.addHandler(capture)
        logger.addHandler(log_file)
        try:
            with warnings.catch_warnings():
                # nbgrader's gradebook code trips SQLAlchemy's session warnings on every new student
                warnings.simplefilter("ignore", category=_sqlalchemy_warning())
                # cells that nbgrader puts back have no id; nbformat warns, the ids are added later
                warnings.filterwarnings("ignore", message="Cell is missing an id field")
                converter = converter_class(coursedir=CourseDirectory(config=config), config=config, log=logger)
                converter.start()
        except NbGraderException as exc:
            details = [line for line in capture.errors if "Please see the" not in line]
            raise NbgraderError(_summarize(details) or str(exc)) from exc
        except Exception as exc:
            raise NbgraderError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            logger.removeHandler(capture)
            logger.removeHandler(log_file)
            log_file.close()

    def course_config(self) -> Config:
        """The course's own nbgrader settings (code stub, delimiters, ...) from its config file."""
        from traitlets.config.loader import PyFileConfigLoader

        path = self.course_root / "nbgrader_config.py"
        if not path.exists():
            return Config()
        return PyFileConfigLoader(path.name, str(path.parent)).load_config()

    def _write_config(self) -> None:
        course_file = self.course_root / "nbgrader_config.py"
        include = f"load_subconfig({str(course_file)!r})  # noqa: F821  the course's settings\n" if course_file.exists() else ""
        (self.workdir / "nbgrader_config.py").write_text(
            '"""nbgrader settings of this grading area (written by `course autograde`)."""\n'
            "c = get_config()  # noqa: F821\n"
            + include +
            'c.CourseDirectory.root = "."\n'
            'c.CourseDirectory.source_directory = "source"\n'
            'c.CourseDirectory.release_directory = "release"\n'
            'c.CourseDirectory.submitted_directory = "executed"  # executed notebooks are what gets graded\n'
            'c.CourseDirectory.autograded_directory = "autograded"\n'
            'c.CourseDirectory.feedback_directory = "nbgrader_feedback"\n'
            'c.CourseDirectory.db_url = "sqlite:///gradebook.db"\n'
            "c.Execute.enabled = False\n"
            "c.ClearOutput.enabled = False\n",
            encoding="utf-8",
        )


def _sqlalchemy_warning() -> type[Warning]:
    try:
        from sqlalchemy.exc import SAWarning
    except ImportError:
        return UserWarning
    return SAWarning


def _ensure_on_path(folder: Path) -> None:
    entries = os.environ.get("PATH", "").split(os.pathsep)
    if str(folder) not in entries:
        os.environ["PATH"] = os.pathsep.join([str(folder), *[e for e in entries if e]])


def _summarize(lines: list[str]) -> str:
    """The informative part of nbgrader's error log: the last line of each traceback."""
    parts = []
    for line in lines:
        last = line.strip().splitlines()[-1] if line.strip() else ""
        if last and last not in parts and not last.startswith("There was an error processing"):
            parts.append(last)
    return "; ".join(parts)


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
