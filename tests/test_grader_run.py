"""``course run``: a batch where one notebook fails is fully reported and exits 1."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grader.cli import main
from grader.run import collect, extract_metrics

PARAMETERS = 'PROFILE = "full"\nDEVICE = "auto"\nSEED = 0'


def write_notebook(path: Path, *sources: str, metrics_cell: int | None = None) -> Path:
    nb = new_notebook(cells=[new_code_cell(PARAMETERS), *(new_code_cell(s) for s in sources)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells[0].metadata["tags"] = ["parameters"]
    if metrics_cell is not None:
        nb.cells[metrics_cell].metadata["tags"] = ["metrics"]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "nbs" / "good.ipynb",
                   'assert PROFILE == "smoke", PROFILE',
                   '{"accuracy": 0.75, "profile": PROFILE}',
                   metrics_cell=2)
    write_notebook(tmp_path / "nbs" / "deeper" / "bad.ipynb",
                   "x = 1",
                   'raise ValueError("the loss is nan")',
                   'print("never reached")')
    (tmp_path / "nbs" / ".ipynb_checkpoints").mkdir()
    write_notebook(tmp_path / "nbs" / ".ipynb_checkpoints" / "good-checkpoint.ipynb", "1 / 0")
    return tmp_path


def test_a_passing_and_a_failing_notebook_in_one_batch(batch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "nbs", "--profile", "smoke", "--workers", "2", "--out", "out", "-q", "--timeout", "60"])
    assert code == 1
    out = capsys.readouterr().out
    assert "nbs/good.ipynb" in out and "passed" in out
    assert "nbs/deeper/bad.ipynb" in out and "cell 2 `raise ValueError(\"the loss is nan\")`" in out
    assert "1 passed, 1 failed" in out
    assert "checkpoint" not in out

    report = json.loads((batch / "out" / "report.json").read_text())
    by_name = {entry["notebook"]: entry for entry in report["notebooks"]}
    assert set(by_name) == {"nbs/good.ipynb", "nbs/deeper/bad.ipynb"}
    good, bad = by_name["nbs/good.ipynb"], by_name["nbs/deeper/bad.ipynb"]
    assert good["status"] == "passed" and good["metrics"] == {"accuracy": 0.75, "profile": "smoke"}
    assert bad["status"] == "failed" and bad["failed_cell"] == 2
    assert bad["error"] == "ValueError: the loss is nan"
    assert "the loss is nan" in bad["traceback"]
    assert report["passed"] == 1 and report["failed"] == 1 and report["profile"] == "smoke"

    # executed copies mirror the input paths; execution stopped at the first error
    executed = nbformat.read(batch / "out" / "nbs" / "deeper" / "bad.ipynb", as_version=4)
    printed = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.get("name") == "stdout"]
    assert not printed
    assert (batch / "out" / "nbs" / "good.ipynb").is_file()


def test_a_passing_batch_exits_0_with_extra_parameters(batch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notebook = write_notebook(batch / "extra.ipynb", "assert EPOCHS == 3 and NAME == 'x'")
    assert main(["run", str(notebook), "--out", "o2", "-q", "--workers", "1", "-p", "EPOCHS=3", "-p", "NAME=x"]) == 0
    assert "1 passed, 0 failed" in capsys.readouterr().out


def test_collect_rejects_missing_paths_and_skips_checkpoints(batch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    names = [task.relative.as_posix() for task in collect(["nbs"])]
    assert names == ["nbs/deeper/bad.ipynb", "nbs/good.ipynb"]
    assert main(["run", "nowhere", "-q"]) == 2
    assert "nowhere: no such file or folder" in capsys.readouterr().err


def test_metrics_read_json_and_python_literals() -> None:
    nb = new_notebook(cells=[new_code_cell("m"), new_code_cell("n")])
    for cell in nb.cells:
        cell.metadata["tags"] = ["metrics"]
    nb.cells[0].outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "{'loss': 0.5}"})]
    nb.cells[1].outputs = [nbformat.v4.new_output("display_data", data={"application/json": {"bleu": 12.5}})]
    assert extract_metrics(nb) == {"loss": 0.5, "bleu": 12.5}


def test_with_two_gpus_each_worker_is_pinned_to_one(batch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No GPU is needed: the kernels only report the CUDA_VISIBLE_DEVICES their worker gave them.
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    for name in ("a", "b"):
        write_notebook(batch / "gpu" / f"{name}.ipynb",
                       "import os\n{'gpu': os.environ.get('CUDA_VISIBLE_DEVICES')}", metrics_cell=1)
    assert main(["run", "gpu", "--out", "gpu-out", "-q"]) == 0  # default workers: one per GPU
    report = json.loads((batch / "gpu-out" / "report.json").read_text())
    assert {entry["metrics"]["gpu"] for entry in report["notebooks"]} <= {"0", "1"}
