"""Grading a class: plain serial ``nbgrader autograde`` against ``course autograde``, side by side.

N sample submissions of one assignment (the sample class's correct, partial and stub students,
cycled and named s001, s002, ...) are graded three ways in one run, each as the instructor's
command in a subprocess of its own, so every timing includes process start-up:

  nbgrader  ``nbgrader autograde <A> --force`` in a throwaway nbgrader course (the course's own
            nbgrader settings, ``source/<A>/`` copied from ``solutions/<A>/``, released with
            ``nbgrader generate_assignment``): nbgrader executes the notebooks one after the other
            and injects no parameters, so its copies of the source and of every submission say
            ``PROFILE = "<profile>"`` in their parameters cell.
  local     ``course autograde <A> --profile <profile> --workers W`` after ``course collect``.
  dask      the same with ``--executor dask``: a local Dask cluster of W worker processes.

Only the grading command is timed (not the set-up, ``generate_assignment`` or ``course collect``);
both sides use the same per-cell time limit. Prints seconds, submissions per minute and the
speed-up (the first method's seconds / this method's seconds), then checks that every method gave
every student the same total (ours from ``grades.csv``, nbgrader's from its gradebook); exits 1
when they differ. Jupyter, IPython and matplotlib state lives in the temporary folder.

    .venv/bin/python benchmarks/autograde_throughput.py [--students 40] [--workers 2]
        [--methods nbgrader,local,dask] [--assignment 01_bow_naive_bayes] [--cell-timeout 120]
        [--profile smoke|full] [--keep]

The default run (40 submissions, three methods, smoke profile) takes several minutes on a 2-core CPU.
Each notebook costs ``course autograde`` about a second of CPU time more than plain nbgrader (its
sandboxed worker process, the sanitize pass, the feedback page), so the speed-up grows with the
notebooks' own running time: ``--profile full`` shows it for notebooks that compute for a while.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from itertools import cycle
from pathlib import Path

import nbformat

from grader.autograde import DEFAULT_CELL_TIMEOUT
from grader.examples.make_sample_class import DEFAULT_ASSIGNMENT, sample_class
from grader.sandbox import available_cores

REPO = Path(__file__).resolve().parent.parent

KINDS = ("correct", "partial", "stub")  # submissions that run to the end, so every method grades all cells
METHODS = ("nbgrader", "local", "dask")
COURSE_OPTIONS = {"local": [], "dask": ["--executor", "dask"]}
FULL_PROFILE = re.compile(r'^PROFILE = "full"', re.MULTILINE)


@dataclass
class Measurement:
    """One method's grading run: its wall-clock seconds and the total it gave each student."""

    method: str
    command: str
    seconds: float
    scores: dict[str, float | None]  # student -> total points, None when the method has no score


def machine() -> str:
    """Cores this process may use and the CPU model (from /proc/cpuinfo where there is one)."""
    model = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        model = names[0] if names else model
    return f"{available_cores()} cores available, {model}"


def state_environment(scratch: Path) -> dict[str, str]:
    """The caller's environment with Jupyter, IPython and matplotlib state under ``scratch`` and this
    Python's scripts first on PATH (nbgrader calls ``alembic`` by name)."""
    env = dict(os.environ)
    for variable, sub in {"JUPYTER_RUNTIME_DIR": "jupyter/runtime", "JUPYTER_CONFIG_DIR": "jupyter/config",
                          "JUPYTER_DATA_DIR": "jupyter/data", "IPYTHONDIR": "ipython",
                          "MPLCONFIGDIR": "matplotlib"}.items():
        (scratch / sub).mkdir(parents=True, exist_ok=True)
        env[variable] = str(scratch / sub)
    env["MPLBACKEND"] = "Agg"
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "/usr/bin:/bin")])
    return env


def sample_submissions(assignment: str, students: int) -> dict[str, bytes]:
    """``s001 -> notebook bytes``, ... cycling through :data:`KINDS` of the sample class."""
    samples = sample_class(assignment, REPO)
    kinds = cycle(KINDS)
    return {f"s{number:03d}": samples[next(kinds)] for number in range(1, students + 1)}


def with_profile(notebook: str, profile: str) -> str:
    """The notebook with ``PROFILE = "<profile>"`` in its parameters cell (what ``--profile`` injects)."""
    if profile == "full":
        return notebook  # what the parameters cell says already
    nb = nbformat.reads(notebook, as_version=4)
    cells = [cell for cell in nb.cells if "parameters" in cell.metadata.get("tags", [])]
    if not cells or not FULL_PROFILE.search(cells[0].source):
        raise SystemExit(f'the parameters cell has no line `PROFILE = "full"` to switch to {profile}')
    cells[0].source = FULL_PROFILE.sub(f'PROFILE = "{profile}"', cells[0].source)
    return nbformat.writes(nb)


def run_timed(argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> float:
    """Wall-clock seconds of one command; its output goes to ``log``. Stops the benchmark if it fails."""
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds = time.perf_counter() - started
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(result.stdout, encoding="utf-8")
    if result.returncode != 0:
        raise SystemExit(f"`python {' '.join(argv[1:])}` failed with exit code {result.returncode}:\n"
                         + "\n".join(result.stdout.splitlines()[-20:]))
    return seconds


def nbgrader_course(root: Path, assignment: str, submissions: dict[str, bytes], cell_timeout: int,
                    env: dict[str, str], profile: str) -> None:
    """An nbgrader course in ``root``: config, source in ``profile``, generated release, submissions."""
    course_config, gradebook = REPO / "nbgrader_config.py", f"sqlite:///{root / 'gradebook.db'}"
    root.mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(course_config)!r})  # noqa: F821  the course's own settings (code stub, ...)\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        'c.CourseDirectory.source_directory = "source"\n'
        'c.CourseDirectory.release_directory = "release"\n'
        f"c.CourseDirectory.db_url = {gradebook!r}\n"
        f"c.ExecutePreprocessor.timeout = {cell_timeout}\n",
        encoding="utf-8")
    source = root / "source" / assignment
    shutil.copytree(REPO / "solutions" / assignment, source,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    notebook = source / f"{assignment}.ipynb"
    # nbgrader puts the source's locked cells back into each submission, the parameters cell included
    notebook.write_text(with_profile(notebook.read_text(encoding="utf-8"), profile), encoding="utf-8")
    run_timed([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force"], env, root,
              root / "logs" / "generate_assignment.log")
    for student, data in submissions.items():
        target = root / "submitted" / student / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True)
        target.write_text(with_profile(data.decode(), profile), encoding="utf-8")


def gradebook_scores(root: Path, assignment: str, students: list[str]) -> dict[str, float | None]:
    """Each student's total in the nbgrader course's gradebook (None when nbgrader graded no submission)."""
    from nbgrader.api import Gradebook, MissingEntry

    scores: dict[str, float | None] = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        for student in students:
            try:
                scores[student] = float(gradebook.find_submission(assignment, student).score)
            except MissingEntry:
                scores[student] = None
    return scores


def csv_scores(workdir: Path, students: list[str]) -> dict[str, float | None]:
    """Each student's total in ``course autograde``'s grades.csv (None when the student has no row)."""
    with (workdir / "grades.csv").open(newline="", encoding="utf-8") as handle:
        totals = {row["student"]: float(row["total"]) for row in csv.DictReader(handle)}
    return {student: totals.get(student) for student in students}


def grade_with_nbgrader(scratch: Path, assignment: str, submissions: dict[str, bytes], cell_timeout: int,
                        env: dict[str, str], profile: str) -> Measurement:
    """Set up a throwaway nbgrader course, then time one ``nbgrader autograde`` of the whole class."""
    root = scratch / "nbgrader"
    nbgrader_course(root, assignment, submissions, cell_timeout, env, profile)
    argv = [sys.executable, "-m", "nbgrader", "autograde", assignment, "--force"]
    seconds = run_timed(argv, env, root, scratch / "logs" / "nbgrader.log")
    return Measurement("nbgrader", "nbgrader autograde (serial)", seconds,
                       gradebook_scores(root, assignment, sorted(submissions)))


def grade_with_course(method: str, scratch: Path, assignment: str, submissions: Path, students: list[str],
                      workers: int, cell_timeout: int, env: dict[str, str], profile: str) -> Measurement:
    """``course collect`` the class folder into a work area of its own, then time ``course autograde``."""
    workdir = scratch / method
    course = [sys.executable, "-m", "grader"]
    run_timed([*course, "collect", assignment, str(submissions), "--workdir", str(workdir)], env, REPO,
              scratch / "logs" / f"{method}-collect.log")
    options = [*COURSE_OPTIONS[method], "--workers", str(workers)]
    argv = [*course, "autograde", assignment, *options, "--profile", profile, "--timeout", str(cell_timeout),
            "--workdir", str(workdir)]
    seconds = run_timed(argv, env, REPO, scratch / "logs" / f"{method}.log")
    return Measurement(method, "course autograde " + " ".join(options), seconds, csv_scores(workdir, students))


def write_folder(folder: Path, assignment: str, submissions: dict[str, bytes]) -> Path:
    """The class as ``<student>/<A>.ipynb`` files, the folder layout ``course collect`` reads."""
    for student, data in submissions.items():
        (folder / student).mkdir(parents=True)
        (folder / student / f"{assignment}.ipynb").write_bytes(data)
    return folder


def disagreements(measurements: list[Measurement], students: list[str]) -> list[str]:
    """Students whose total is missing for some method or differs between methods."""
    differing = []
    for student in students:
        totals = [m.scores.get(student) for m in measurements]
        if any(t is None for t in totals) or not all(math.isclose(t, totals[0], abs_tol=1e-6) for t in totals):
            differing.append(student)
    return differing


TABLE_HEADER = f"{'method':<10}{'seconds':>10}{'subs/min':>10}{'speedup':>10}  command"


def table_row(m: Measurement, students: int, baseline_seconds: float) -> str:
    """Seconds, submissions per minute and speed-up against the first method's seconds."""
    return (f"{m.method:<10}{m.seconds:>10.1f}{students * 60 / m.seconds:>10.1f}"
            f"{baseline_seconds / m.seconds:>10.2f}  {m.command}")


def parse_methods(text: str) -> list[str]:
    """``--methods``: distinct names among :data:`METHODS`, in the order given."""
    methods = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in methods if name not in METHODS]
    if unknown or not methods or len(set(methods)) != len(methods):
        raise argparse.ArgumentTypeError(f"pick distinct methods among {', '.join(METHODS)}")
    return methods


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignment", default=DEFAULT_ASSIGNMENT)
    parser.add_argument("--students", type=int, default=40, help="submissions in the class (default: 40)")
    parser.add_argument("--workers", type=int, default=2, help="parallel workers of `course autograde`")
    parser.add_argument("--methods", type=parse_methods, default=list(METHODS),
                        help=f"comma-separated, timed in this order (default: {','.join(METHODS)})")
    parser.add_argument("--cell-timeout", type=int, default=DEFAULT_CELL_TIMEOUT,
                        help=f"per-cell time limit in seconds, for every method (default: {DEFAULT_CELL_TIMEOUT})")
    parser.add_argument("--profile", choices=("smoke", "full"), default="smoke",
                        help="PROFILE of every notebook: smoke (seconds each) or full (longer, compute-bound)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and print where it is")
    args = parser.parse_args()
    if args.students < 1 or args.workers < 1:
        parser.error("--students and --workers must be at least 1")

    scratch = Path(tempfile.mkdtemp(prefix="autograde-throughput-"))
    try:
        return benchmark(args, scratch)
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def benchmark(args: argparse.Namespace, scratch: Path) -> int:
    """Grade the sample class with every chosen method in ``scratch``; 1 when their scores differ."""
    env = state_environment(scratch)
    # every method starts with matplotlib's font cache built, as on an instructor's machine
    subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env, check=True)
    submissions = sample_submissions(args.assignment, args.students)
    students = sorted(submissions)
    folder = write_folder(scratch / "class", args.assignment, submissions)
    print(f"machine: {machine()}")
    print(f"class: {args.students} submission{'s' if args.students != 1 else ''} of {args.assignment} "
          f"({', '.join(KINDS)} in turn), {args.profile} profile, {args.cell_timeout} s per cell, "
          f"{args.workers} workers for `course autograde`")
    print(TABLE_HEADER, flush=True)
    measurements: list[Measurement] = []
    for method in args.methods:  # each row as soon as it is measured: a long run shows its progress
        if method == "nbgrader":
            measurement = grade_with_nbgrader(scratch, args.assignment, submissions, args.cell_timeout, env,
                                              args.profile)
        else:
            measurement = grade_with_course(method, scratch, args.assignment, folder, students, args.workers,
                                            args.cell_timeout, env, args.profile)
        measurements.append(measurement)
        print(table_row(measurement, args.students, measurements[0].seconds), flush=True)
    differing = disagreements(measurements, students)
    print(f"scores agree on {len(students) - len(differing)} of {len(students)} submissions")
    for student in differing:
        print(f"  {student}: " + ", ".join(f"{m.method} {m.scores.get(student)}" for m in measurements))
    return 1 if differing else 0


if __name__ == "__main__":
    raise SystemExit(main())
