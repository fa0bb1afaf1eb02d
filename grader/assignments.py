"""Where things live in a course: its root, its assignments and their files.

The course root is the folder holding ``nbgrader_config.py``. An assignment ``A`` is a folder
``solutions/A/`` holding the nbgrader source ``A.ipynb``; its student version is
``assignments/A/A.ipynb`` and its known-wrong implementations are ``grader/mistakes/A/*.py``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CONFIG_FILE = "nbgrader_config.py"
SOURCE_DIR = "solutions"
RELEASE_DIR = "assignments"
MISTAKES_DIR = Path("grader") / "mistakes"
IGNORED_DIRS = {".ipynb_checkpoints", "__pycache__"}


class CourseError(Exception):
    """A problem the user can fix (unknown assignment, missing file); printed without a traceback."""


def find_root(start: Path | None = None) -> Path:
    """The course root: the nearest folder at or above ``start`` (default: the working directory)
    holding ``nbgrader_config.py``; failing that, the repository this package was installed from."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    package_repo = Path(__file__).resolve().parent.parent
    if (package_repo / CONFIG_FILE).is_file():
        return package_repo
    raise CourseError(f"no {CONFIG_FILE} found in {here} or above; run this inside the course folder or pass --root")


def root_from(value: str | os.PathLike[str] | None) -> Path:
    """The course root named on the command line (``--root``), or the one found from here."""
    if value is None:
        return find_root()
    root = Path(value).resolve()
    if not (root / SOURCE_DIR).is_dir() and not (root / RELEASE_DIR).is_dir():
        raise CourseError(f"{root} is not a course root: it has neither {SOURCE_DIR}/ nor {RELEASE_DIR}/")
    return root


@dataclass(frozen=True)
class Assignment:
    """One assignment and the paths of its files."""

    name: str
    root: Path

    @property
    def source_dir(self) -> Path:
        return self.root / SOURCE_DIR / self.name

    @property
    def source_notebook(self) -> Path:
        return self.source_dir / f"{self.name}.ipynb"

    @property
    def release_dir(self) -> Path:
        return self.root / RELEASE_DIR / self.name

    @property
    def release_notebook(self) -> Path:
        return self.release_dir / f"{self.name}.ipynb"

    @property
    def mistakes_dir(self) -> Path:
        return self.root / MISTAKES_DIR / self.name

    def mistake_files(self) -> list[Path]:
        return sorted(self.mistakes_dir.glob("*.py")) if self.mistakes_dir.is_dir() else []


def discover(root: Path) -> list[str]:
    """Names of all assignments: the sub-folders of ``solutions/`` that hold a notebook, sorted."""
    source = root / SOURCE_DIR
    if not source.is_dir():
        return []
    return sorted(
        folder.name
        for folder in source.iterdir()
        if folder.is_dir() and folder.name not in IGNORED_DIRS and not folder.name.startswith(".")
        and any(folder.glob("*.ipynb"))
    )


def released(root: Path) -> list[str]:
    """Names of the assignments that have a committed student version under ``assignments/``."""
    release = root / RELEASE_DIR
    if not release.is_dir():
        return []
    return sorted(
        folder.name
        for folder in release.iterdir()
        if folder.is_dir() and not folder.name.startswith(".") and any(folder.glob("*.ipynb"))
    )


def select(root: Path, name: str | None) -> list[Assignment]:
    """The assignment called ``name`` (a clear error when unknown), or every assignment."""
    names = discover(root)
    if name is None:
        if not names:
            raise CourseError(f"no assignments found: {root / SOURCE_DIR} has no sub-folder with a notebook")
        return [Assignment(n, root) for n in names]
    name = name.strip().rstrip("/").split("/")[-1]
    if name not in names:
        known = ", ".join(names) or "none"
        raise CourseError(f"unknown assignment {name!r}; known assignments: {known}")
    assignment = Assignment(name, root)
    if not assignment.source_notebook.is_file():
        raise CourseError(f"{assignment.source_notebook} is missing (an assignment's notebook is named after its folder)")
    return [assignment]


def notebooks_under(path: Path) -> list[Path]:
    """``path`` itself when it is a notebook, else every ``*.ipynb`` below it (checkpoints skipped)."""
    if path.is_file():
        return [path]
    return sorted(
        found
        for found in path.rglob("*.ipynb")
        if not IGNORED_DIRS.intersection(part for part in found.relative_to(path).parts)
    )


def notebooks_in(root: Path, folders: tuple[str, ...]) -> list[Path]:
    """Every notebook under each of ``root/<folder>`` that exists, folder by folder."""
    return [notebook for folder in folders if (root / folder).is_dir() for notebook in notebooks_under(root / folder)]
