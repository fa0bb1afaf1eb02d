"""Every lecture and solution notebook runs, top to bottom, in the smoke profile.

One test per notebook, found by walking ``lectures/`` and ``solutions/``, so a new topic is picked
up without touching this file. A failure names the cell and shows its traceback; the executed copy
is kept under ``build/notebook-failures/`` for a closer look.

Cache (for developers; a clean clone, as in CI, runs everything): a notebook that passed is not
run again while nothing it could depend on has changed. The key is the sha256 of

* the notebook file itself,
* every file under ``nlpcourse/`` and ``data/`` (all the repository code and data a notebook
  can import or load; the ``NLPCOURSE_DATA`` folder too when that is set), plus
  ``requirements.txt`` and ``grader/execute.py`` (the pinned environment and the runner),
* the injected parameters, the Python version and ``CUDA_VISIBLE_DEVICES``.

A pass is recorded in ``build/notebook-cache/`` and reused only when every part of the key
matches; failures are never cached. ``COURSE_NOTEBOOK_CACHE=0`` turns the cache off.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import nbformat
import pytest

from grader import cells
from grader.assignments import notebooks_in
from grader.execute import execute_notebook
from grader.sandbox import thread_limits

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_DIRS = ("lectures", "solutions")
PARAMETERS = {"PROFILE": "smoke", "DEVICE": "auto"}
CELL_TIMEOUT = 300  # seconds; a smoke notebook takes well under 60 in all
CACHE = REPO / "build" / "notebook-cache"
FAILURES = REPO / "build" / "notebook-failures"
DEPENDENCIES = ("nlpcourse", "data", "requirements.txt", "grader/execute.py")

pytestmark = pytest.mark.notebook

# Kernels inherit this process's environment: with ``pytest -n N`` give each one its share of the
# cores, or N kernels each running torch on every core slow one another down several times over.
for _variable, _value in thread_limits(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))).items():
    os.environ.setdefault(_variable, _value)


def discover() -> list[Path]:
    return notebooks_in(REPO, NOTEBOOK_DIRS)


@functools.cache
def dependencies_digest() -> str:
    """sha256 over the paths and contents of every file a notebook may depend on."""
    digest = hashlib.sha256()
    paths = [REPO / name for name in DEPENDENCIES]
    if os.environ.get("NLPCOURSE_DATA"):  # nlpcourse reads its data from there instead of data/
        paths.append(Path(os.environ["NLPCOURSE_DATA"]).resolve())
    for path in paths:
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else []
        for file in files:
            if "__pycache__" in file.parts or file.suffix == ".pyc":
                continue
            digest.update(file.as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def cache_key(notebook: Path) -> str:
    parts = {
        "notebook": hashlib.sha256(notebook.read_bytes()).hexdigest(),
        "dependencies": dependencies_digest(),
        "parameters": PARAMETERS,
        "python": sys.version,
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def cache_entry(relative: str) -> Path:
    return CACHE / (relative.replace("/", "__") + ".json")


def cache_enabled() -> bool:
    return os.environ.get("COURSE_NOTEBOOK_CACHE", "1").strip().lower() not in ("0", "off", "false", "no")


def record_pass(entry: Path, key: str, seconds: float) -> None:
    entry.parent.mkdir(parents=True, exist_ok=True)
    scratch = entry.with_suffix(f".{os.getpid()}.tmp")
    scratch.write_text(json.dumps({"key": key, "seconds": round(seconds, 1), "passed_at": time.time()}) + "\n")
    os.replace(scratch, entry)  # atomic, so parallel workers never read half a record


def cached_pass(entry: Path, key: str) -> bool:
    try:
        return json.loads(entry.read_text())["key"] == key
    except (OSError, ValueError, KeyError):
        return False


@pytest.mark.parametrize("notebook", discover(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_notebook_runs_in_smoke_profile(notebook: Path, tmp_path: Path) -> None:
    relative = notebook.relative_to(REPO).as_posix()
    key, entry = cache_key(notebook), cache_entry(relative)
    if cache_enabled() and cached_pass(entry, key):
        return  # passed before with the same notebook, code, data and parameters

    nb = nbformat.read(notebook, as_version=4)
    result = execute_notebook(nb, parameters=PARAMETERS, cwd=tmp_path, cell_timeout=CELL_TIMEOUT)
    if result.error:
        failed = cells.source_index(result.notebook, result.failed_cell)
        kept = FAILURES / relative
        kept.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(result.notebook, kept)
        entry.unlink(missing_ok=True)
        failed_cell = result.notebook.cells[result.failed_cell] if result.failed_cell is not None else None
        error = (cells.describe_error(failed_cell) if failed_cell is not None else None) or result.error
        traceback = cells.traceback_text(failed_cell) if failed_cell is not None else ""
        pytest.fail(
            f"{relative} failed in the smoke profile at {cells.label(nb, failed)}: {error}\n"
            f"{traceback}\n(executed copy: {kept.relative_to(REPO)})",
            pytrace=False,
        )
    (FAILURES / relative).unlink(missing_ok=True)
    record_pass(entry, key, result.seconds)
