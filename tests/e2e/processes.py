"""Long-running processes of the e2e stack: started in their own session, tracked by PID file.

A PID file holds the PID and the process's start time: a PID from a stale file is
only signalled while it still names the same process (PIDs get recycled, and
Airflow's process titles overwrite /proc/<pid>/environ, so that cannot tell).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait until `pid` has exited (reaping it if it is our child); False on timeout."""
    try:
        psutil.Process(pid).wait(timeout)
    except psutil.NoSuchProcess:
        return True
    except psutil.TimeoutExpired:
        return False
    return True


def tree_pss(pid: int) -> int:
    """Proportional set size of a process and all its descendants, in bytes.

    PSS splits pages shared between forked processes fairly, so summing it over a
    tree does not count copy-on-write memory twice the way RSS would.
    """
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


class ProcessFile:
    """A PID file: the PID on the first line (what postgres writes, too)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> int | None:
        try:
            first = self.path.read_text().split("\n", 1)[0].strip()
        except OSError:
            return None
        return int(first) if first.isdigit() else None

    def write(self, pid: int) -> None:
        """PID, then the start time that proves later that the PID still means this process."""
        self.path.write_text(f"{pid}\n{psutil.Process(pid).create_time()!r}\n")

    def running(self) -> psutil.Process | None:
        """The recorded process, if it is still the one that was recorded."""
        pid = self.read()
        if pid is None:
            return None
        try:
            recorded = float(self.path.read_text().split("\n")[1])
            proc = psutil.Process(pid)
            return proc if proc.create_time() == recorded else None
        except (OSError, IndexError, ValueError, psutil.NoSuchProcess):
            return None

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


class ManagedProcess:
    """One component: log file `<name>.log` and PID file `<name>.pid` in `run_dir`."""

    def __init__(
        self, *, name: str, argv: Sequence[str], run_dir: Path, env: Mapping[str, str]
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.log = run_dir / f"{name}.log"
        self.pid_file = ProcessFile(run_dir / f"{name}.pid")
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.pid_file.read()

    def start(self) -> None:
        with self.log.open("ab") as log:
            self._popen = subprocess.Popen(
                self.argv,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid_file.write(self._popen.pid)

    def exit_code(self) -> int | None:
        """The exit status once the process has ended, else None."""
        return self._popen.poll() if self._popen else None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM by PID, then SIGKILL for whatever is left of its process group."""
        leader = self.pid_file.running()
        if leader is not None:
            started = leader.create_time()
            leader.send_signal(signal.SIGTERM)
            if not wait_gone(leader.pid, timeout):
                leader.kill()
                wait_gone(leader.pid, 10)
            # Workers it forked (task runners, log servers) are in its group and younger.
            for member in _group_members(leader.pid, started):
                member.kill()
        self.pid_file.remove()

    def pss(self) -> int:
        pid = self.pid
        return tree_pss(pid) if pid is not None else 0


def _group_members(pgid: int, not_before: float) -> list[psutil.Process]:
    members = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and proc.create_time() >= not_before:
                members.append(proc)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return members
