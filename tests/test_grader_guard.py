"""The monkeypatch guard: small notebooks, protected and run in a real kernel, cheat or not.

Three kernels in all: an honest notebook, a cheating one whose solution cells patch numpy and
builtins one after the other and finally remove the guard itself (each check cell is read on its
own), and one patching torch (the only notebook that imports torch).
"""

from __future__ import annotations

import nbclient
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader import guard
from grader.cells import error_output

PARAMETERS = "PROFILE = 'smoke'"


def _solution(source: str, name: str) -> nbformat.NotebookNode:
    return new_code_cell(source, metadata={"nbgrader": {"grade": False, "solution": True, "grade_id": name}})


def _test(source: str, name: str) -> nbformat.NotebookNode:
    meta = {"grade": True, "solution": False, "locked": True, "points": 1, "grade_id": name}
    return new_code_cell(source, metadata={"nbgrader": meta})


def _notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    parameters = new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]})
    return new_notebook(cells=[new_markdown_cell("# Assignment"), parameters, *cells])


def _run(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    guard.protect(nb)
    nbclient.NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True).execute()
    return nb


def _cell(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    return next(cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == name)


def _check_before(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    index = nb.cells.index(_cell(nb, name))
    return nb.cells[index - 1]


def _reported_by(cell: nbformat.NotebookNode) -> list[str]:
    return guard.findings(new_notebook(cells=[cell]))


def _stream(cell: nbformat.NotebookNode, name: str = "stdout") -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == name)


def honest_notebook() -> nbformat.NotebookNode:
    return _notebook(
        _solution("import numpy as np\nimport sys\n\ndef f(x):\n    return 2 * x + 1", "f"),
        _test("np.testing.assert_allclose(f(2), 5)\nassert isinstance(f(2), int)", "test_f"),
        _solution("assert_allclose = 'my own variable'\nallclose = isclose = None", "mine"),
        _test("assert assert_allclose == 'my own variable' and allclose is None\n"
              "print('imported:', 'tor' 'ch' in sys.modules)", "test_mine"),  # spelled apart: no mention
    )


def cheating_notebook() -> nbformat.NotebookNode:
    """Each solution patches something, the test after it must still fail or pass on its merits.

    The patches keep the kernel alive: a plain ``builtins.isinstance = lambda *a: True`` or
    ``del builtins.len`` breaks the kernel's own machinery, so such a notebook dies by itself.
    """
    return _notebook(
        _solution("import numpy as np\n\ndef f(x):\n    return 0\n\n"
                  "np.testing.assert_allclose = lambda *a, **k: None", "f"),
        _test("np.testing.assert_allclose(f(2), 5)", "test_f"),
        _solution("import builtins\n\nANSWER = 'not a number'\n\ndef g():\n    return ANSWER\n\n"
                  "real_isinstance = isinstance\n"
                  "builtins.isinstance = lambda obj, cls: obj is ANSWER or real_isinstance(obj, cls)", "g"),
        _test("assert isinstance(g(), int), 'g must return an int'", "test_g"),
        _solution("import builtins, io, sys\n\ndef h():\n    return [1, 2, 3]\n\n"
                  "for name in ('print', 'setattr', 'sorted'):\n"
                  "    builtins.__dict__[name] = lambda *a, **k: []\n"
                  "del builtins.sum\n"
                  "del sys.modules['numpy']\n"
                  "sys.stdout = io.StringIO()", "h"),
        _test("assert sum(h()) == 6\nprint('print works', file=sys.stderr)", "test_h"),
        _solution("def k():\n    return [0, 0]\n\n"
                  "np.testing.assert_array_equal.__code__ = (lambda *a, **k: None).__code__", "k"),
        _test("np.testing.assert_array_equal(k(), [1, 2])", "test_k"),
        _solution("for name in [name for name in sys.modules if name.startswith('_course_guard')]:\n"
                  "    del sys.modules[name]", "sabotage"),
        _test("assert True", "test_sabotage"),
    )


def torch_notebook() -> nbformat.NotebookNode:
    return _notebook(
        _solution("import torch\n\ndef t():\n    return torch.zeros(2)\n\n"
                  "torch.allclose = lambda *a, **k: True", "t"),
        _test("assert torch.allclose(t(), torch.ones(2)), 't() must return ones'", "test_t"),
    )


@pytest.fixture(scope="module")
def honest() -> nbformat.NotebookNode:
    return _run(honest_notebook())


@pytest.fixture(scope="module")
def cheating() -> nbformat.NotebookNode:
    return _run(cheating_notebook())


def test_an_honest_notebook_passes_untouched(honest) -> None:
    assert guard.findings(honest) == []
    for name in ("test_f", "test_mine"):
        assert error_output(_cell(honest, name)) is None, name
    guard_cells = [cell for cell in honest.cells if guard.is_guard_cell(cell)]
    assert len(guard_cells) == 3
    assert all(cell.outputs == [] for cell in guard_cells)
    assert "imported: False" in _stream(_cell(honest, "test_mine"))


def test_guard_cells_come_first_and_before_each_test() -> None:
    nb = honest_notebook()
    guard.protect(nb)
    snapshot = nb.cells[1]
    assert guard.is_guard_cell(snapshot) and nb.cells[2].metadata["tags"] == ["parameters"]
    assert "watch_torch=False" in snapshot.source
    for name in ("test_f", "test_mine"):
        check = _check_before(nb, name)
        assert guard.is_guard_cell(check) and "nbgrader" not in check.metadata
        assert check.source.count("\n") < 3
    ids = [cell.id for cell in nb.cells]
    assert len(set(ids)) == len(ids)
    nbformat.validate(nb)


def test_a_patched_numpy_assertion_is_reported_and_the_real_one_runs(cheating) -> None:
    assert _reported_by(_check_before(cheating, "test_f")) == ["numpy.testing.assert_allclose"]
    failure = error_output(_cell(cheating, "test_f"))
    assert failure is not None and failure["ename"] == "AssertionError"


def test_a_patched_builtin_is_reported_and_restored(cheating) -> None:
    assert _reported_by(_check_before(cheating, "test_g")) == ["builtins.isinstance"]
    failure = error_output(_cell(cheating, "test_g"))
    assert failure is not None and "g must return an int" in failure["evalue"]


def test_patched_builtins_or_stdout_do_not_silence_the_check(cheating) -> None:
    check = _check_before(cheating, "test_h")
    assert error_output(check) is None
    assert _reported_by(check) == ["builtins.print", "builtins.setattr", "builtins.sorted", "builtins.sum",
                                   "sys.modules['numpy']"]
    test = _cell(cheating, "test_h")
    assert error_output(test) is None
    assert _stream(test, "stderr") == "print works\n"


def test_a_function_changed_in_place_gets_its_code_back(cheating) -> None:
    assert _reported_by(_check_before(cheating, "test_k")) == ["numpy.testing.assert_array_equal"]
    failure = error_output(_cell(cheating, "test_k"))
    assert failure is not None and failure["ename"] == "AssertionError"


def test_a_sabotaged_guard_is_a_finding(cheating) -> None:
    assert _reported_by(_check_before(cheating, "test_sabotage")) == ["guard cell failed: KeyError"]


def test_findings_gather_every_check_cell_of_the_notebook(cheating) -> None:
    assert guard.findings(cheating) == [
        "builtins.isinstance", "builtins.print", "builtins.setattr", "builtins.sorted", "builtins.sum",
        "guard cell failed: KeyError", "numpy.testing.assert_allclose", "numpy.testing.assert_array_equal",
        "sys.modules['numpy']",
    ]


def test_a_patched_torch_function_is_reported_and_restored() -> None:
    nb = _run(torch_notebook())
    assert guard.findings(nb) == ["torch.allclose"]
    failure = error_output(_cell(nb, "test_t"))
    assert failure is not None and "t() must return ones" in failure["evalue"]


def test_only_guard_cells_are_read() -> None:
    line = "course-guard: restored builtins.len\n"
    student = new_code_cell(f"print({line!r})")
    student.outputs = [nbformat.v4.new_output("stream", name="stdout", text=line)]
    check = new_code_cell("", metadata={"tags": [guard.GUARD_TAG]})
    check.outputs = [nbformat.v4.new_output("stream", name="stdout", text=["course-guard: restored ", "math.isclose\n"])]
    assert guard.findings(new_notebook(cells=[student, check])) == ["math.isclose"]


def test_strip_removes_exactly_the_guard_cells_and_protect_twice_is_stable() -> None:
    original = cheating_notebook()
    nb = cheating_notebook()
    guard.protect(nb)
    assert len(nb.cells) == len(original.cells) + 6
    guard.protect(nb)
    assert len(nb.cells) == len(original.cells) + 6
    guard.strip(nb)
    assert [(c.cell_type, c.source, c.metadata) for c in nb.cells] == [
        (c.cell_type, c.source, c.metadata) for c in original.cells
    ]


def test_a_notebook_without_code_is_left_alone() -> None:
    nb = new_notebook(cells=[new_markdown_cell("only text")])
    guard.protect(nb)
    assert len(nb.cells) == 1
