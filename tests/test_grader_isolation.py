"""grader.isolation: the namespaces around a student's kernel.

``isolate`` changes the process that calls it for good, so every test runs it in a fresh Python process
(a small script written to ``tmp_path``) that reports what it observed as JSON; the assertions are
made here, and what must stay unchanged outside is checked from the test process afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from grader.isolation import IsolationPlan, IsolationReport, describe, probe

REPO = Path(__file__).resolve().parent.parent
DENIED = {"EROFS", "EACCES", "EPERM"}

PRELUDE = '''
import errno, json, os, subprocess, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from grader.isolation import IsolationPlan, describe, isolate

plan = IsolationPlan(**json.loads(sys.argv[1]))
report = isolate(plan)
if not (report.network and report.filesystem):
    sys.exit(describe(report))
seen = {"hidden": [str(folder) for folder in report.hidden]}


def attempt(action):
    """'ok', or the errno name of the OSError that ``action`` raised."""
    try:
        action()
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error.errno))
    return "ok"


def child(*command):
    """Exit status and output of a command started from here (after execve, as the kernel is)."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    return {"status": done.returncode, "stdout": done.stdout, "stderr": done.stderr}

'''

NESTED_UNMOUNT = '''
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
folder = sys.argv[1]
if sys.argv[2] == "nested" and libc.unshare(0x10000000 | 0x00020000) != 0:  # CLONE_NEWUSER | CLONE_NEWNS
    sys.exit(f"no nested namespaces: {os.strerror(ctypes.get_errno())}")
unmounted = [libc.umount2(folder.encode(), flags) == 0 for flags in (0, 2)]  # plain, then MNT_DETACH
print(unmounted, os.listdir(folder))
'''


@pytest.fixture(scope="module")
def namespaces() -> IsolationReport:
    """Skip a test where this machine does not allow the namespaces (e.g. user namespaces forbidden)."""
    report = probe()
    if not (report.network and report.filesystem):
        pytest.skip(f"this machine does not allow the grader's namespaces: {describe(report)}")
    return report


def run_isolated(tmp_path: Path, body: str, plan: IsolationPlan, timeout: float = 60,
                 launcher: tuple[str, ...] = ()) -> dict:
    """Run ``body`` in a fresh process isolated by ``plan`` (started through ``launcher`` when given);
    return the ``seen`` dict it filled in."""
    script = tmp_path / "isolated.py"
    script.write_text(PRELUDE + textwrap.dedent(body) + "\nprint(json.dumps(seen))\n")
    arguments = json.dumps(asdict(plan), default=str)
    done = subprocess.run([*launcher, sys.executable, str(script), arguments, str(REPO)], capture_output=True,
                          text=True, timeout=timeout, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def grading_area(tmp_path: Path) -> Path:
    grading = tmp_path / "grading"
    (grading / "alice").mkdir(parents=True)
    (grading / "gradebook.db").write_bytes(b"SQLite format 3\0 marks")
    (grading / "alice" / "submission.ipynb").write_text("{}")
    return grading


def course_tree(tmp_path: Path) -> Path:
    course = tmp_path / "course"
    (course / "data").mkdir(parents=True)
    (course / "solutions").mkdir()
    (course / "data" / "corpus.txt").write_text("the cat sat")
    (course / "solutions" / "answers.py").write_text("ANSWER = 42")
    return course


def assert_grading_area_intact(grading: Path) -> None:
    assert sorted(os.listdir(grading)) == ["alice", "gradebook.db"]
    assert (grading / "gradebook.db").read_bytes() == b"SQLite format 3\0 marks"
    assert (grading / "alice" / "submission.ipynb").read_text() == "{}"


@pytest.mark.usefixtures("namespaces")
def test_network_is_cut_off_but_the_loopback_works(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.setblocking(False)
        port = server.getsockname()[1]
        seen = run_isolated(tmp_path, f'''
            import socket
            host_server = ("127.0.0.1", {port})
            seen["host_server"] = attempt(lambda: socket.create_connection(host_server, timeout=3).close())
            seen["other_machine"] = attempt(lambda: socket.create_connection(("192.0.2.1", 80), timeout=3).close())
            with socket.create_server(("127.0.0.1", 0)) as inner:
                with socket.create_connection(inner.getsockname(), timeout=3) as client:
                    connection, _ = inner.accept()
                    client.sendall(b"ping")
                    seen["own_loopback"] = connection.recv(4).decode()
                    connection.close()
        ''', IsolationPlan())
        with pytest.raises(BlockingIOError):
            server.accept()  # nobody ever connected
    assert seen["host_server"] == "ECONNREFUSED"
    assert seen["other_machine"] == "ENETUNREACH"
    assert seen["own_loopback"] == "ping"


@pytest.mark.usefixtures("namespaces")
def test_hidden_folder_looks_empty_and_cannot_be_written(tmp_path):
    grading = grading_area(tmp_path)
    missing = tmp_path / "not-there"
    seen = run_isolated(tmp_path, f'''
        grading = Path({str(grading)!r})
        seen["listing"] = os.listdir(grading)
        seen["read"] = attempt(lambda: (grading / "gradebook.db").read_bytes())
        seen["create"] = attempt(lambda: (grading / "gradebook.db").write_text("all marks 100"))
        seen["mkdir"] = attempt(lambda: (grading / "alice").mkdir())
        seen["chmod"] = attempt(lambda: grading.chmod(0o777))
    ''', IsolationPlan(hidden=(grading, missing)))
    assert seen["listing"] == []
    assert seen["read"] == "ENOENT"
    assert {seen["create"], seen["mkdir"], seen["chmod"]} <= DENIED
    assert seen["hidden"] == [str(grading)]  # a folder that does not exist is skipped
    assert_grading_area_intact(grading)


@pytest.mark.usefixtures("namespaces")
def test_a_kept_folder_stays_usable_inside_a_hidden_one(tmp_path):
    sandboxes = tmp_path / "sandboxes"
    own, other = sandboxes / "grade-alice-1", sandboxes / "grade-bob-2"
    for home in (own, other):
        (home / "work").mkdir(parents=True)
        (home / "input.ipynb").write_text(home.name)
    seen = run_isolated(tmp_path, f'''
        sandboxes, own = Path({str(sandboxes)!r}), Path({str(own)!r})
        seen["listing"] = os.listdir(sandboxes)
        seen["own"] = (own / "input.ipynb").read_text()
        (own / "work" / "scratch.txt").write_text("mine")
        seen["other"] = attempt(lambda: (sandboxes / "grade-bob-2" / "input.ipynb").read_text())
        seen["create"] = attempt(lambda: (sandboxes / "planted.txt").write_text("for bob"))
    ''', IsolationPlan(hidden=(sandboxes,), keep=(own,)))
    assert seen["listing"] == ["grade-alice-1"]  # only its own folder, at its own path
    assert seen["own"] == "grade-alice-1" and (own / "work" / "scratch.txt").read_text() == "mine"
    assert seen["other"] == "ENOENT" and seen["create"] in DENIED
    assert (other / "input.ipynb").read_text() == "grade-bob-2" and not (sandboxes / "planted.txt").exists()


@pytest.mark.usefixtures("namespaces")
def test_read_only_folder_can_be_read_but_not_changed(tmp_path):
    course = course_tree(tmp_path)
    corpus = course / "data" / "corpus.txt"
    seen = run_isolated(tmp_path, f'''
        course = Path({str(course)!r})
        corpus = course / "data" / "corpus.txt"
        seen["read"] = corpus.read_text()
        seen["append"] = attempt(lambda: corpus.open("a").close())
        seen["create"] = attempt(lambda: (course / "data" / "new.txt").write_text("x"))
        seen["delete"] = attempt(corpus.unlink)
        seen["rename"] = attempt(lambda: corpus.rename(course / "renamed.txt"))
        seen["chmod"] = attempt(lambda: corpus.chmod(0o777))
        seen["solutions"] = os.listdir(course / "solutions")
    ''', IsolationPlan(hidden=(course / "solutions",), read_only=(course,)))
    assert seen["read"] == "the cat sat"
    assert {seen[action] for action in ("append", "create", "delete", "rename", "chmod")} <= DENIED
    assert seen["solutions"] == []  # hidden inside a read-only folder
    assert corpus.read_text() == "the cat sat" and corpus.stat().st_mode & 0o777 != 0o777
    assert sorted(os.listdir(course / "data")) == ["corpus.txt"]
    assert (course / "solutions" / "answers.py").read_text() == "ANSWER = 42"


@pytest.mark.usefixtures("namespaces")
@pytest.mark.skipif(shutil.which("unshare") is None, reason="no unshare command on this machine")
@pytest.mark.parametrize(("options", "flags"), [
    ("nosuid,nodev,noexec,noatime", os.ST_NOSUID | os.ST_NODEV | os.ST_NOEXEC | os.ST_NOATIME),
    ("nodiratime,strictatime", os.ST_NODIRATIME),
])
def test_read_only_folder_on_a_mount_with_locked_flags(tmp_path, options, flags):
    """A user namespace locks nosuid/nodev/noexec/atime flags: the read-only remount must keep them (else EPERM)."""
    mount_point = tmp_path / "mounted"
    mount_point.mkdir()
    data = mount_point / "data"
    setup = f"mount -t tmpfs -o {options} tmpfs {mount_point} && mkdir {data} && echo text > {data}/corpus.txt"
    seen = run_isolated(tmp_path, f'''
        data = Path({str(data)!r})
        seen["read"] = (data / "corpus.txt").read_text()
        seen["create"] = attempt(lambda: (data / "new.txt").write_text("x"))
        seen["flags"] = os.statvfs(data).f_flag
    ''', IsolationPlan(read_only=(data,)), launcher=("unshare", "-rm", "sh", "-c", f'{setup} && exec "$@"', "sh"))
    assert seen["read"] == "text\n"
    assert seen["create"] in DENIED
    assert seen["flags"] & (flags | os.ST_RDONLY | os.ST_RELATIME) == flags | os.ST_RDONLY


@pytest.mark.usefixtures("namespaces")
def test_started_processes_hold_no_capability_and_cannot_undo_the_mounts(tmp_path):
    grading = grading_area(tmp_path)
    (tmp_path / "nested_unmount.py").write_text(NESTED_UNMOUNT)
    seen = run_isolated(tmp_path, f'''
        grading = {str(grading)!r}
        status = child("cat", "/proc/self/status")["stdout"].splitlines()
        seen["capabilities"] = dict(line.split(":") for line in status if line.startswith("Cap"))
        seen["unmount"] = child(sys.executable, "nested_unmount.py", grading, "plain")
        seen["nested_unmount"] = child(sys.executable, "nested_unmount.py", grading, "nested")
        seen["through_proc"] = child("ls", f"/proc/{{os.getppid()}}/root{{grading}}")
        seen["listing"] = os.listdir(grading)
    ''', IsolationPlan(hidden=(grading,)))
    assert {name: int(value, 16) for name, value in seen["capabilities"].items()} == dict.fromkeys(
        ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"), 0)
    for attempt in ("unmount", "nested_unmount"):  # in a user namespace of its own the mount is locked
        assert seen[attempt]["status"] == 0, seen[attempt]["stderr"]
        assert seen[attempt]["stdout"].strip() == "[False, False] []"
    assert seen["through_proc"]["status"] != 0 and "gradebook.db" not in seen["through_proc"]["stdout"]
    assert seen["listing"] == []
    assert_grading_area_intact(grading)


@pytest.mark.usefixtures("namespaces")
@pytest.mark.skipif(shutil.which("unshare") is None, reason="no unshare command on this machine")
def test_unshare_command_cannot_reveal_hidden_files(tmp_path):
    grading = grading_area(tmp_path)
    seen = run_isolated(tmp_path, f'''
        script = "umount {grading}; umount -l {grading}; echo listing:; ls -A {grading}"
        seen["as_root"] = child("unshare", "-rm", "sh", "-c", script)
        seen["unmapped"] = child("unshare", "-Um", "sh", "-c", script)
    ''', IsolationPlan(hidden=(grading,)))
    for attempt in seen["as_root"], seen["unmapped"]:
        assert "gradebook.db" not in attempt["stdout"] and "alice" not in attempt["stdout"]
    assert seen["unmapped"]["stdout"].split() == ["listing:"]  # the listing ran and found nothing
    assert_grading_area_intact(grading)


@pytest.mark.usefixtures("namespaces")
def test_files_written_inside_belong_to_the_graders_account(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    seen = run_isolated(tmp_path, f'''
        out = Path({str(out)!r})
        (out / "worker.txt").write_text("from the worker")
        seen["kernel"] = child("sh", "-c", "echo from the kernel > {out}/kernel.txt && mkdir {out}/folder")
        seen["ids"] = [os.getuid(), os.getgid()]
    ''', IsolationPlan())
    assert seen["kernel"]["status"] == 0, seen["kernel"]["stderr"]
    assert seen["ids"] == [os.getuid(), os.getgid()]
    for name in ("worker.txt", "kernel.txt", "folder"):
        info = (out / name).stat()
        assert (info.st_uid, info.st_gid) == (os.getuid(), os.getgid())


@pytest.mark.usefixtures("namespaces")
def test_jupyter_kernel_runs_inside(tmp_path):
    grading = grading_area(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    seen = run_isolated(tmp_path, f'''
        import nbformat
        from grader.execute import execute_notebook

        grading = {str(grading)!r}
        cells = [nbformat.v4.new_code_cell("import os\\nlisting = os.listdir(" + repr(grading) + ")"),
                 nbformat.v4.new_code_cell("print(listing, 6 * 7)")]
        result = execute_notebook(nbformat.v4.new_notebook(cells=cells), parameters={{}}, cwd=Path({str(work)!r}),
                                  cell_timeout=60)
        seen["error"] = result.error
        seen["crashed"] = result.crashed
        seen["printed"] = "".join(output.get("text", "") for cell in result.notebook.cells
                                  for output in cell.get("outputs", []))
    ''', IsolationPlan(hidden=(grading,)), timeout=120)
    assert seen["error"] is None and not seen["crashed"]
    assert seen["printed"].strip() == "[] 42"


@pytest.mark.usefixtures("namespaces")
def test_probe_leaves_the_calling_process_as_it_was(tmp_path):
    grading = grading_area(tmp_path)
    plan = IsolationPlan(hidden=(grading,), read_only=(tmp_path,))
    namespaces_before = {kind: os.readlink(f"/proc/self/ns/{kind}") for kind in ("user", "mnt", "net")}
    with socket.create_server(("127.0.0.1", 0)) as server:
        started = time.perf_counter()
        report = probe(plan)
        seconds = time.perf_counter() - started
        with socket.create_connection(server.getsockname(), timeout=3):
            pass
    assert report.network and report.filesystem, report.notes
    assert report.hidden == (grading,) and report.read_only == (tmp_path,)
    assert seconds < 5
    assert {kind: os.readlink(f"/proc/self/ns/{kind}") for kind in namespaces_before} == namespaces_before
    assert_grading_area_intact(grading)
    (tmp_path / "still-writable.txt").write_text("yes")
    started = time.perf_counter()
    assert probe(IsolationPlan(hidden=[str(grading)], read_only=[str(tmp_path)])) is report  # cached
    assert time.perf_counter() - started < 0.01


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="namespaces are Linux only")
def test_isolate_reports_instead_of_raising(tmp_path):
    script = tmp_path / "threaded.py"
    script.write_text(textwrap.dedent('''
        import json, sys, threading
        sys.path.insert(0, sys.argv[1])
        from grader.isolation import IsolationPlan, isolate

        release = threading.Event()
        threading.Thread(target=release.wait).start()  # a user namespace needs a single-threaded process
        report = isolate(IsolationPlan(hidden=(sys.argv[2],)))
        release.set()
        print(json.dumps([report.network, report.filesystem, report.notes]))
    '''))
    done = subprocess.run([sys.executable, str(script), str(REPO), str(tmp_path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    network, filesystem, notes = json.loads(done.stdout)
    assert (network, filesystem) == (False, False)
    assert len(notes) == 2  # EINVAL for the thread, or EPERM where user namespaces are forbidden
    assert notes[0].startswith("network not isolated: ") and "(unshare: " in notes[0]
    assert notes[0].endswith("; student code can reach the network")
    assert notes[1].startswith("filesystem not isolated: ") and "(unshare: " in notes[1]


def test_describe_names_what_is_isolated_and_every_note():
    note = ("network not isolated: user namespaces are not available here (unshare: Operation not permitted); "
            "student code can reach the network")
    assert describe(IsolationReport(False, False, [note])) == f"sandbox: {note}"
    full = IsolationReport(True, True, [], hidden=(Path("/course/solutions"),), read_only=(Path("/course/data"),))
    assert describe(full) == ("sandbox: own network namespace (no network); hidden: /course/solutions; "
                              "read-only: /course/data")
    assert describe(IsolationReport(False, True, [])) == "sandbox: nothing isolated"


def test_plan_is_hashable_whatever_the_folders_are_given_as():
    plan = IsolationPlan(hidden=["/course/solutions"], read_only=("/course/data",))
    assert plan.hidden == (Path("/course/solutions"),) and plan.read_only == (Path("/course/data"),)
    assert hash(plan) == hash(IsolationPlan(hidden=(Path("/course/solutions"),), read_only=["/course/data"]))
