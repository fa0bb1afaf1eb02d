"""Guard the graded tests against monkeypatching: detect it, undo it, report it.

A student's solution cell could make the tests pass without solving anything, by replacing what
the tests rely on: ``np.testing.assert_allclose = lambda *a, **k: None``, ``torch.allclose =
lambda *a, **k: True``, ``builtins.isinstance = lambda *a: True``. Before execution,
:func:`protect` inserts cells tagged :data:`GUARD_TAG` into the sanitized notebook:

* a **snapshot cell** before the first code cell (so before the ``parameters`` cell and any student
  code). It records the identity of every watched object in a private module object registered
  in ``sys.modules`` under a name derived from the notebook. Watched: every name of ``builtins`` (replaced or deleted),
  ``math.isclose``, ``numpy.allclose``/``isclose``/``array_equal``, every public function of
  ``numpy.testing`` and, when the notebook mentions ``torch``, ``torch.allclose``/``isclose``/
  ``equal`` and ``torch.testing.assert_close``; also the ``numpy.testing``/``torch.testing``
  attributes, the ``sys.modules`` entries of these modules, the same functions in the modules that
  define them (``numpy.testing._private.utils.assert_allclose``), and the code and defaults of the
  watched Python functions (``f.__code__``, ``f.__defaults__``, ``f.__kwdefaults__``).
* a **check cell** right before every graded test cell. It puts back every watched object that
  differs from the snapshot, so the test that follows runs the real functions, and prints one line
  ``course-guard: restored <name>, <name>`` when it found something (nothing otherwise). It uses
  only dict operations until the builtins are back, and writes to the output stream saved by the
  snapshot, so patched ``print``, ``setattr``, ``sorted`` or ``sys.stdout`` do not silence it.
  The student's own variables are never touched.

After execution, :func:`findings` collects what the check cells reported (a check cell that failed
outright is reported too), and :func:`strip` removes the guard cells before grading and feedback.

Limits: the guard detects and undoes the usual patches of the watched objects. It does not cover
a test's own global names rebound by the student (``np = FakeNumpy()``), functions outside the
watched list, or a student who reads this file and sabotages the guard itself (e.g. by replacing
``__import__`` or the private module). Whatever they run stays in their submitted notebook, for
the instructor to read.
"""

from __future__ import annotations

import hashlib
import inspect
import uuid

import nbformat

from grader.notebooks import is_test_cell

GUARD_TAG = "course-guard"
RESTORED = "course-guard: restored "
GUARD_FAILED = "guard cell failed: "


def _course_guard_install(key, report, watch_torch):
    """Snapshot what the tests rely on; ``sys.modules[key].check()`` undoes and reports changes.

    Runs in the student's kernel (the snapshot cell holds this function's source), so it imports
    nothing from the grader and leaves no name behind in the notebook's namespace.
    """
    import builtins
    import math
    import sys
    import types

    import numpy
    import numpy.testing

    watched = {
        "builtins": [name for name in vars(builtins) if name != "input"],  # ipykernel sets its own per cell
        "math": ["isclose"],
        "numpy": ["allclose", "isclose", "array_equal", "testing"],
        "numpy.testing": [name for name, value in vars(numpy.testing).items()
                          if not name.startswith("_") and callable(value) and not isinstance(value, type)],
    }
    if watch_torch:
        try:
            import torch.testing
        except ImportError:
            pass
        else:
            watched["torch"] = ["allclose", "isclose", "equal", "testing"]
            watched["torch.testing"] = ["assert_close"]
    missing = object()
    entries = {}  # label -> (namespace dict, name, original value)
    functions = {}  # label -> (function, code, defaults, kwdefaults, copy of kwdefaults)

    def watch(label, namespace, name):
        value = namespace[name]
        entries[label] = (namespace, name, value)
        if isinstance(value, types.FunctionType):
            kwdefaults = value.__kwdefaults__
            functions[label] = (value, value.__code__, value.__defaults__, kwdefaults, dict(kwdefaults or {}))
            home = sys.modules.get(value.__module__)
            if home is not None and vars(home).get(value.__name__) is value:
                entries[f"{value.__module__}.{value.__name__}"] = (vars(home), value.__name__, value)

    for module_name, names in watched.items():
        watch(f"sys.modules[{module_name!r}]", sys.modules, module_name)
        namespace = vars(sys.modules[module_name])
        for name in names:
            if name in namespace:
                watch(f"{module_name}.{name}", namespace, name)

    def function_intact(function, code, defaults, kwdefaults, saved):
        if function.__code__ is not code or function.__defaults__ is not defaults:
            return False
        if function.__kwdefaults__ is not kwdefaults:
            return False
        return kwdefaults is None or (len(kwdefaults) == len(saved)
                                      and all(kwdefaults.get(k, missing) is v for k, v in saved.items()))

    def restore_function(function, code, defaults, kwdefaults, saved):
        if kwdefaults is not None:
            kwdefaults.clear()
            kwdefaults.update(saved)
        function.__code__, function.__defaults__, function.__kwdefaults__ = code, defaults, kwdefaults

    stream = sys.stdout
    shell = vars(builtins).get("get_ipython", lambda: None)()

    def write(text):
        if shell is not None and hasattr(stream, "set_parent"):
            stream.set_parent(shell.parent_header)  # the kernel updates only the current sys.stdout
        stream.write(text)
        stream.flush()

    def check():
        restored = []
        for label, (namespace, name, original) in entries.items():  # dict operations only: no builtins yet
            if namespace.get(name, missing) is not original:
                namespace[name] = original
                restored.append(label)
        for label, saved in functions.items():
            if not function_intact(*saved):
                restore_function(*saved)
                restored.append(label)
        if restored:
            write(report + ", ".join(sorted(set(restored))) + "\n")

    guard = types.ModuleType(key)
    guard.check = check
    sys.modules[key] = guard


def is_guard_cell(cell: nbformat.NotebookNode) -> bool:
    """A cell :func:`protect` inserted."""
    return GUARD_TAG in cell.get("metadata", {}).get("tags", [])


def _guard_cell(source: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": [GUARD_TAG]})
    cell.id = uuid.uuid4().hex[:8]
    return cell


def _snapshot_source(key: str, watch_torch: bool) -> str:
    return "\n".join([
        "# course-guard: remembers what the tests rely on, before any other cell runs (see grader/guard.py)",
        inspect.getsource(_course_guard_install).rstrip(),
        "",
        f"_course_guard_install({key!r}, {RESTORED!r}, watch_torch={watch_torch})",
        "del _course_guard_install",
    ])


def _check_source(key: str) -> str:
    return "\n".join([
        "# course-guard: puts back what the next test relies on if a cell above replaced it (see grader/guard.py)",
        f"__import__('sys').modules[{key!r}].check()",
    ])


def _mentions_torch(nb: nbformat.NotebookNode) -> bool:
    return any("torch" in cell.source for cell in nb.cells if cell.cell_type == "code")


def _digest(nb: nbformat.NotebookNode) -> str:
    """8 hex digits of the cells' sources: the same submission always gets the same guard cells
    (so the grader can tell it was already executed), a different one other keys."""
    text = "\x00".join(cell.source for cell in nb.cells)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def protect(nb: nbformat.NotebookNode) -> None:
    """In place: a snapshot cell before the first code cell and a check cell before every graded test.

    Guard cells already there (a notebook protected before) are replaced by fresh ones. A notebook
    without code cells is left as it is.
    """
    strip(nb)
    key = f"_course_guard_{_digest(nb)}"
    snapshot = _guard_cell(_snapshot_source(key, _mentions_torch(nb)))
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "code" and snapshot is not None:
            cells.append(snapshot)
            snapshot = None
        if is_test_cell(cell):
            cells.append(_guard_cell(_check_source(key)))
        cells.append(cell)
    nb.cells = cells


def strip(nb: nbformat.NotebookNode) -> None:
    """In place: remove every guard cell, so feedback pages and the gradebook never show them."""
    nb.cells = [cell for cell in nb.cells if not is_guard_cell(cell)]


def _stream_text(output: nbformat.NotebookNode) -> str:
    text = output.get("text", "")
    return "".join(text) if isinstance(text, list) else text


def _reported(output: nbformat.NotebookNode) -> set[str]:
    """What one output of a guard cell reports: restored names, or the failure of the cell itself."""
    if output.get("output_type") == "error":
        return {GUARD_FAILED + str(output.get("ename", "Error"))}
    if output.get("output_type") != "stream":
        return set()
    lines = [line[len(RESTORED):] for line in _stream_text(output).splitlines() if line.startswith(RESTORED)]
    return {name.strip() for line in lines for name in line.split(",") if name.strip()}


def findings(nb: nbformat.NotebookNode) -> list[str]:
    """Sorted names of what the guard cells of an executed notebook found replaced and put back.

    E.g. ``["builtins.isinstance", "numpy.testing.assert_allclose", "torch.allclose"]``; a guard
    cell that failed outright (the student broke the guard itself) shows as ``"guard cell failed:
    KeyError"``. Empty for an honest notebook.
    """
    found: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type == "code" and is_guard_cell(cell):
            for output in cell.get("outputs", []):
                found |= _reported(output)
    return sorted(found)
