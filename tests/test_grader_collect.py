"""``course collect``: LMS zips and folders -> submitted/<student>/<A>/<A>.ipynb, with clear messages."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from grader.cli import main
from grader.collect import InvalidStudentId, collect, student_of
from grader.workspace import Workspace

A = "00_toy"
NOTEBOOK = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'

# member name -> content; what each one should become is asserted below
CLASS = {
    f"export/alice_{A}.ipynb": NOTEBOOK + b" ",
    f"export/bob/{A}.ipynb": NOTEBOOK,
    f"export/carol/dave_{A}.ipynb": b'{"cells": [',  # collected as-is: autograde reports it
    f"export/kim_min-ji.2_{A}.ipynb": NOTEBOOK,
    f"export/__MACOSX/._alice_{A}.ipynb": b"resource fork",
    f"export/bob/.ipynb_checkpoints/{A}-checkpoint.ipynb": NOTEBOOK,
    "export/notes.txt": b"not a notebook",
    f"{A}.ipynb": NOTEBOOK,
    "export/eve_homework.ipynb": NOTEBOOK,
    f"export/frank_{A}.ipynb": NOTEBOOK,
    f"export/frank/{A}.ipynb": NOTEBOOK,
    f"export/-bad_{A}.ipynb": NOTEBOOK,
}


def as_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in CLASS.items():
            archive.writestr(name, data)
    return path


def as_folder(path: Path) -> Path:
    for name, data in CLASS.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    return path


@pytest.mark.parametrize("pack", [as_zip, as_folder], ids=["zip", "folder"])
def test_collect_follows_the_naming_rule(tmp_path: Path, pack) -> None:
    source = pack(tmp_path / ("class.zip" if pack is as_zip else "class"))
    workspace = Workspace.create(A, tmp_path / "grading" / A, tmp_path)
    report = collect(workspace, source)

    assert report.students == {"alice": f"export/alice_{A}.ipynb", "bob": f"export/bob/{A}.ipynb",
                               "dave": f"export/carol/dave_{A}.ipynb", "kim_min-ji.2": f"export/kim_min-ji.2_{A}.ipynb"}
    assert workspace.collected_students() == ["alice", "bob", "dave", "kim_min-ji.2"]
    assert workspace.submitted("alice").read_bytes() == NOTEBOOK + b" "  # byte for byte
    assert workspace.submitted("dave").read_bytes() == b'{"cells": ['
    assert report.ignored == ["export/notes.txt (not a notebook)"]
    problems = "\n".join(report.problems)
    assert f"{A}.ipynb: no student id" in problems
    assert "export/eve_homework.ipynb: not named after the assignment" in problems
    assert "student frank has 2 notebooks" in problems and not workspace.submitted("frank").exists()
    assert "invalid student id '-bad'" in problems
    assert len(report.problems) == 4


def test_collect_again_replaces_and_keeps_the_rest(tmp_path: Path) -> None:
    workspace = Workspace.create(A, tmp_path / "grading", tmp_path)
    collect(workspace, as_zip(tmp_path / "class.zip"))
    late = tmp_path / "late.zip"
    with zipfile.ZipFile(late, "w") as archive:
        archive.writestr(f"alice_{A}.ipynb", NOTEBOOK + b"\n\n")
    assert collect(workspace, late).students == {"alice": f"alice_{A}.ipynb"}
    assert workspace.submitted("alice").read_bytes() == NOTEBOOK + b"\n\n"
    assert workspace.collected_students() == ["alice", "bob", "dave", "kim_min-ji.2"]


def test_student_of() -> None:
    assert student_of(f"x/y/alice_{A}.ipynb", A) == "alice"
    assert student_of(f"alice/{A}.ipynb", A) == "alice"
    assert student_of(f"alice/bob_{A}.ipynb", A) == "bob"
    for bad in (f"_{A}.ipynb", f"{A}.ipynb", f"alice_{A}_v2.ipynb", f"a b/{A}.ipynb"):
        with pytest.raises(InvalidStudentId):
            student_of(bad, A)


def test_cli_reports_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    workdir = tmp_path / "grading"
    archive = as_zip(tmp_path / "class.zip")
    assert main(["collect", A, str(archive), "--workdir", str(workdir)]) == 1  # collected, with problems
    out = capsys.readouterr().out
    assert "collected  alice" in out and "ignored    export/notes.txt" in out
    assert "PROBLEM    student frank has 2 notebooks" in out
    assert "4 notebook(s) collected" in out

    clean = tmp_path / "clean.zip"
    with zipfile.ZipFile(clean, "w") as zipped:
        zipped.writestr(f"alice_{A}.ipynb", NOTEBOOK)
    assert main(["collect", A, str(clean), "--workdir", str(workdir)]) == 0
    assert main(["collect", A, str(tmp_path / "missing.zip"), "--workdir", str(workdir)]) == 2
    assert "does not exist" in capsys.readouterr().out
    (tmp_path / "plain.txt").write_text("x")
    assert main(["collect", A, str(tmp_path / "plain.txt"), "--workdir", str(workdir)]) == 2


def test_help_documents_the_naming_rule(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["collect", "--help"])
    out = capsys.readouterr().out
    assert "<student>_<A>.ipynb" in out and "<student>/<A>.ipynb" in out
