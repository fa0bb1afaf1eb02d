"""Linux namespaces around a student's kernel: no network, hidden grading files, read-only course data.

The grading worker calls :func:`isolate` before papermill starts the Jupyter kernel, so the worker and
the kernel (and everything the student's code starts) live inside new namespaces:

* a user namespace that maps the grader's own uid and gid onto themselves (not onto root): files the
  kernel writes belong to the instructor, and the kernel, started by ``execve``, holds no capability.
  The capability bounding set is emptied as well, so this also holds when the grader runs as root;
* a network namespace with nothing but its own loopback (brought up, so the worker still reaches its
  kernel over ZMQ on 127.0.0.1): no TCP/UDP to other machines or to servers on the host's loopback,
  and no abstract unix sockets of the host;
* a mount namespace in which every ``hidden`` folder (solutions, the grading area with gradebook.db
  and every student's files) is covered by an empty read-only tmpfs, and every ``read_only`` folder
  (the course's data, the installed course package) is bind-mounted read-only. The kernel cannot
  undo these mounts: it has no capability here, and in a user namespace of its own (``unshare -rm``)
  the mounts are locked by the kernel of the OS. Processes outside these namespaces, such as the
  instructor's shell, cannot be reached through ``/proc/PID/root`` or ptrace either, as the kernel's
  user namespace holds no capability over theirs.

What this does not protect against:

* a student with an exploit for the kernel of the OS (namespaces are no virtual machine);
* reading every other file the instructor's account can read: only the ``hidden`` folders are hidden.
  The grader also runs each notebook in a fresh temporary folder with a scrubbed ``HOME`` and
  environment (:mod:`grader.sandbox`), but a path that is known or guessed stays readable, and files
  outside the ``read_only`` folders stay writable (other workers' temporary folders under ``/tmp``);
* unix sockets reachable as files (``/run/docker.sock``, an SSH agent or X11 socket under ``/tmp``):
  a daemon listening there can act for the student, network included, unless its folder is hidden;
* memory, CPU and process limits: see :mod:`grader.sandbox` and :mod:`grader.batch`.

Machines that forbid user namespaces to unprivileged users (some containers, hardened kernels) get
none of this; :func:`isolate` then reports why in its notes and never raises.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import functools
import json
import os
import re
import socket
import struct
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MS_RELATIME = 0x200000
MS_STRICTATIME = 0x1000000

# statvfs f_flag bits (Linux) of the flags a user namespace locks on a mount, and the mount flag that keeps each
ST_NOSUID, ST_NODEV, ST_NOEXEC, ST_NOATIME, ST_NODIRATIME, ST_RELATIME = 0x2, 0x4, 0x8, 0x400, 0x800, 0x1000
LOCKED_FLAGS = ((ST_NOSUID, MS_NOSUID), (ST_NODEV, MS_NODEV), (ST_NOEXEC, MS_NOEXEC), (ST_NOATIME, MS_NOATIME),
                (ST_NODIRATIME, MS_NODIRATIME), (ST_RELATIME, MS_RELATIME))

HIDING_FLAGS = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC
HIDING_OPTIONS = "size=4k,mode=0555"

PR_CAPBSET_DROP = 24
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
IFREQ_FLAGS = "16sH22x"  # struct ifreq: interface name, then ifr_flags in a 24-byte union

PROBE_TIMEOUT_SECONDS = 30
NO_NETWORK_RISK = "student code can reach the network"
NO_FILESYSTEM_RISK = "student code can read the hidden folders and change the read-only ones"


def _paths(folders: tuple[Path | str, ...] | list[Path | str]) -> tuple[Path, ...]:
    return tuple(Path(folder) for folder in folders)


@dataclass(frozen=True)
class IsolationPlan:
    """What to isolate. ``hidden`` folders look empty and cannot be written (solutions, the grading area);
    ``read_only`` folders can be read but never changed (course data, the installed course package).
    ``network`` cuts the network off. Folders may be given as strings or lists; they are stored as tuples
    of paths, so a plan is hashable. A hidden folder may lie inside a read-only one. ``keep`` folders
    inside a hidden one stay visible, and writable, at their own path (a submission's own temporary
    folder inside the hidden temporary area holding every other submission's).
    """

    hidden: tuple[Path, ...] = ()
    read_only: tuple[Path, ...] = ()
    network: bool = True
    keep: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", _paths(self.hidden))
        object.__setattr__(self, "read_only", _paths(self.read_only))
        object.__setattr__(self, "keep", _paths(self.keep))


@dataclass
class IsolationReport:
    """What :func:`isolate` achieved.

    network:    the process is in its own network namespace, with only a loopback of its own (up).
    filesystem: the process has its own mount namespace and every existing hidden/read-only folder was applied.
    notes:      one line for each thing that could not be done, with what it leaves open.
    hidden, read_only: the folders that were actually hidden / made read-only.
    """

    network: bool
    filesystem: bool
    notes: list[str] = field(default_factory=list)
    hidden: tuple[Path, ...] = ()
    read_only: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        self.hidden = _paths(self.hidden)
        self.read_only = _paths(self.read_only)


def isolate(plan: IsolationPlan) -> IsolationReport:
    """Move this process into new user, mount and (unless ``plan.network`` is false) network namespaces.

    Irreversible for the calling process, and it must still run a single thread: call it in the worker
    before the kernel starts. Never raises; what could not be done is in the report's notes.
    """
    report = IsolationReport(network=False, filesystem=False)
    try:
        _isolate(plan, report)
    except Exception as error:  # a bug or an unforeseen system: report it, never stop the grading
        report.notes.append(f"sandbox incomplete: {type(error).__name__}: {error}")
    return report


def probe(plan: IsolationPlan | None = None) -> IsolationReport:
    """What :func:`isolate` achieves on this machine, tried in a short-lived child process.

    The calling process is left as it is. The result is cached per process and plan; do not change it.
    """
    return _probe(plan if plan is not None else IsolationPlan())


def describe(report: IsolationReport) -> str:
    """One log line: what is isolated, then every note."""
    parts = ["own network namespace (no network)"] if report.network else []
    if report.hidden:
        parts.append("hidden: " + ", ".join(map(str, report.hidden)))
    if report.read_only:
        parts.append("read-only: " + ", ".join(map(str, report.read_only)))
    parts.extend(report.notes)
    return "sandbox: " + ("; ".join(parts) if parts else "nothing isolated")


def _isolate(plan: IsolationPlan, report: IsolationReport) -> None:
    if not sys.platform.startswith("linux"):
        _give_up(plan, report, f"namespaces are not available on {sys.platform} (Linux only)")
        return
    libc = _libc()
    uid, gid = os.getuid(), os.getgid()
    try:
        _call(libc.unshare(CLONE_NEWUSER), "unshare")
    except OSError as error:
        _give_up(plan, report, _unshare_reason(error))
        return
    try:
        _map_to_self(uid, gid)
    except OSError as error:
        _give_up(plan, report, f"the user namespace could not be set up ({error.strerror})")
        return
    if plan.network:
        report.network = _cut_network(libc, report.notes)
    report.filesystem = _apply_mounts(libc, plan, report)
    try:
        _drop_bounding_set(libc)
    except OSError as error:
        report.notes.append(f"capabilities not dropped ({error.strerror}); a kernel running as root could undo "
                            "the mounts")


def _give_up(plan: IsolationPlan, report: IsolationReport, reason: str) -> None:
    if plan.network:
        report.notes.append(f"network not isolated: {reason}; {NO_NETWORK_RISK}")
    if plan.hidden or plan.read_only:
        report.notes.append(f"filesystem not isolated: {reason}; {NO_FILESYSTEM_RISK}")


def _unshare_reason(error: OSError) -> str:
    if error.errno == errno.EINVAL:
        return f"the process already runs several threads, and a user namespace needs one ({error.strerror})"
    if error.errno in (errno.EPERM, errno.EACCES, errno.ENOSPC, errno.EUSERS, errno.ENOSYS):
        return f"user namespaces are not available here ({error.strerror})"
    return f"no user namespace ({error.strerror})"


@functools.cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.unshare.argtypes = [ctypes.c_int]
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    return libc


def _call(result: int, what: str) -> None:
    """Raise an OSError whose strerror reads ``what: <the C library's error text>`` when ``result`` failed."""
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _write_proc(path: str, text: str) -> None:
    try:
        Path(path).write_text(text)
    except OSError as error:
        raise OSError(error.errno, f"write {path}: {error.strerror}") from error


def _map_to_self(uid: int, gid: int) -> None:
    """Map the grader's uid and gid onto themselves; ``deny`` setgroups first, as the kernel requires."""
    _write_proc("/proc/self/setgroups", "deny")
    _write_proc("/proc/self/uid_map", f"{uid} {uid} 1")
    _write_proc("/proc/self/gid_map", f"{gid} {gid} 1")


def _cut_network(libc: ctypes.CDLL, notes: list[str]) -> bool:
    try:
        _call(libc.unshare(CLONE_NEWNET), "unshare")
    except OSError as error:
        notes.append(f"network not isolated: no network namespace ({error.strerror}); {NO_NETWORK_RISK}")
        return False
    try:
        _bring_up_loopback()
    except OSError as error:
        notes.append(f"network cut off, but its loopback is down ({error.strerror}); the grader cannot reach "
                     "the notebook's kernel")
        return False
    return True


def _bring_up_loopback() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        answer = fcntl.ioctl(sock, SIOCGIFFLAGS, struct.pack(IFREQ_FLAGS, b"lo", 0))
        flags = struct.unpack(IFREQ_FLAGS, answer)[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack(IFREQ_FLAGS, b"lo", flags | IFF_UP))


def _apply_mounts(libc: ctypes.CDLL, plan: IsolationPlan, report: IsolationReport) -> bool:
    """Read-only folders first, then hidden ones, so a hidden folder inside a read-only one stays hidden."""
    try:
        _call(libc.unshare(CLONE_NEWNS), "unshare")
        _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here propagates to the host
    except OSError as error:
        if plan.hidden or plan.read_only:
            report.notes.append(f"filesystem not isolated: no mount namespace ({error.strerror}); "
                                f"{NO_FILESYSTEM_RISK}")
        return False
    complete = True
    for folder in filter(Path.exists, plan.read_only):
        try:
            _make_read_only(libc, folder)
            report.read_only += (folder,)
        except OSError as error:
            report.notes.append(f"{folder} left writable ({error.strerror}); student code can change it")
            complete = False
    for folder in filter(Path.exists, plan.hidden):
        try:
            inside = [kept for kept in plan.keep if kept.is_dir() and kept.is_relative_to(folder)]
            _hide(libc, folder, _outermost(inside))
            report.hidden += (folder,)
        except OSError as error:
            report.notes.append(f"{folder} not hidden ({error.strerror}); student code can read it")
            complete = False
    return complete


def _outermost(folders: list[Path]) -> list[Path]:
    """``folders`` without those inside another of them (binding the outer one brings them along)."""
    resolved = sorted({folder.resolve() for folder in folders}, key=lambda folder: len(folder.parts))
    kept: list[Path] = []
    for folder in resolved:
        if not any(folder.is_relative_to(outer) for outer in kept):
            kept.append(folder)
    return kept


def _hide(libc: ctypes.CDLL, folder: Path, kept: list[Path]) -> None:
    """Cover ``folder`` with an empty read-only tmpfs; bind each of ``kept`` (inside it) back at its path."""
    if not kept:
        _mount(libc, "tmpfs", str(folder), "tmpfs", HIDING_FLAGS, HIDING_OPTIONS)
        return
    handles = [os.open(path, os.O_PATH | os.O_DIRECTORY) for path in kept]  # still reachable once covered
    try:
        _mount(libc, "tmpfs", str(folder), "tmpfs", HIDING_FLAGS & ~MS_RDONLY, HIDING_OPTIONS)
        for path, handle in zip(kept, handles):
            path.mkdir(parents=True, exist_ok=True)  # inside the fresh tmpfs
            _mount(libc, f"/proc/self/fd/{handle}", str(path), None, MS_BIND | MS_REC)
        _mount(libc, None, str(folder), None, MS_REMOUNT | HIDING_FLAGS, HIDING_OPTIONS)
    finally:
        for handle in handles:
            os.close(handle)


def _mount(libc: ctypes.CDLL, source: str | None, target: str, fstype: str | None, flags: int,
           options: str | None = None) -> None:
    encoded = [None if text is None else os.fsencode(text) for text in (source, target, fstype, options)]
    _call(libc.mount(encoded[0], encoded[1], encoded[2], flags, encoded[3]), f"mount {target}")


def _make_read_only(libc: ctypes.CDLL, folder: Path) -> None:
    """Bind ``folder`` onto itself with everything mounted below it, then remount each of those read-only."""
    _mount(libc, str(folder), str(folder), None, MS_BIND | MS_REC)
    for point in _mount_points_under(folder.resolve()):
        _mount(libc, None, point, None, MS_BIND | MS_REMOUNT | MS_RDONLY | _locked_flags(point))


def _locked_flags(point: str) -> int:
    """The flags the mount at ``point`` already has that a user namespace may not change (else EPERM)."""
    present = os.statvfs(point).f_flag
    flags = 0
    for statvfs_flag, mount_flag in LOCKED_FLAGS:
        if present & statvfs_flag:
            flags |= mount_flag
    if not present & (ST_NOATIME | ST_RELATIME):
        flags |= MS_STRICTATIME  # a remount without any atime flag would ask for relatime
    return flags


def _mount_points_under(folder: Path) -> list[str]:
    """Mount points at or below ``folder``, parents first (from /proc/self/mountinfo)."""
    root = str(folder)
    below = root.rstrip("/") + "/"
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = re.sub(r"\\([0-7]{3})", lambda escape: chr(int(escape.group(1), 8)), line.split()[4])
        if point == root or point.startswith(below):
            points.append(point)
    return list(dict.fromkeys(points))


def _drop_bounding_set(libc: ctypes.CDLL) -> None:
    """Empty the capability bounding set: whatever this process starts holds no capability, even as root."""
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    for capability in range(last + 1):
        _call(libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0), "prctl")


@functools.cache
def _probe(plan: IsolationPlan) -> IsolationReport:
    command = [sys.executable, "-I", str(Path(__file__).resolve()), json.dumps(asdict(plan), default=str)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=True,
                              timeout=PROBE_TIMEOUT_SECONDS)
        return IsolationReport(**json.loads(done.stdout))
    except subprocess.CalledProcessError as error:
        return IsolationReport(False, False, [f"sandbox probe failed: {error}: {error.stderr.strip()[-300:]}"])
    except (OSError, subprocess.SubprocessError, ValueError, TypeError) as error:
        return IsolationReport(False, False, [f"sandbox probe failed: {error}"])


if __name__ == "__main__":  # the child process of probe(): isolate itself, print the report as JSON
    print(json.dumps(asdict(isolate(IsolationPlan(**json.loads(sys.argv[1])))), default=str))
