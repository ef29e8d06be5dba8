"""Start, find and stop the seed's daemons by PID file.

Each daemon runs detached in its own session, logs to ``logs/<name>.log`` and has
``run/<name>.pid`` holding its PID and executable. A PID file is trusted only while
``/proc/<pid>/exe`` still names that executable, so a recycled PID is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from airflow_provider_garden.localseed.errors import SeedError

_LOG_ROTATE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class Listener:
    """A process listening on a TCP port."""

    port: int
    pid: int
    executable: str


def executable_of(pid: int) -> str | None:
    """Return the path of the program ``pid`` runs, or None if it is gone or a zombie."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None
    # A binary replaced by a rebuild while running still is the same program.
    return exe.removesuffix(" (deleted)")


class ProcessTable:
    """The daemons of one seed, keyed by component name."""

    def __init__(self, *, run_dir: Path, log_dir: Path) -> None:
        self.run_dir = run_dir
        self.log_dir = log_dir

    def pid_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def _record(self, name: str) -> tuple[int, str, str] | None:
        try:
            pid_text, exe, fingerprint = self.pid_file(name).read_text().split("\n")[:3]
            return int(pid_text), exe, fingerprint
        except (OSError, ValueError):
            return None

    def pid(self, name: str) -> int | None:
        """PID of the running component, or None (a stale PID file counts as not running)."""
        record = self._record(name)
        if record is None:
            return None
        pid, exe, _ = record
        return pid if executable_of(pid) == exe else None

    def fingerprint(self, name: str) -> str | None:
        """What the running component was started with (see ``start``)."""
        record = self._record(name)
        return record[2] if record and self.pid(name) is not None else None

    def start(self, name: str, argv: Sequence[str], *, fingerprint: str = "") -> int:
        """Start ``argv`` detached; return its PID once the PID file is written.

        ``fingerprint`` (e.g. a hash of argv and config files) is kept in the PID
        file so a later caller can tell whether the process runs what it wants.
        """
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_file(name)
        if log.exists() and log.stat().st_size > _LOG_ROTATE_BYTES:
            log.replace(log.with_suffix(".log.1"))
        with log.open("ab") as out:
            out.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(argv)}\n".encode())
            out.flush()
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives the CLI and its terminal
                close_fds=True,
            )
        exe = executable_of(proc.pid) or os.path.realpath(argv[0])
        self.pid_file(name).write_text(f"{proc.pid}\n{exe}\n{fingerprint}\n")
        return proc.pid

    def stop(self, name: str, *, timeout: float = 20.0) -> bool:
        """SIGTERM the component, SIGKILL after ``timeout``; True if it was running."""
        pid = self.pid(name)
        stopped = pid is not None and terminate(pid, timeout=timeout)
        self.pid_file(name).unlink(missing_ok=True)
        return stopped

    def log_tail(self, name: str, lines: int = 15) -> str:
        try:
            text = self.log_file(name).read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def terminate(pid: int, *, timeout: float) -> bool:
    """SIGTERM ``pid``, wait up to ``timeout`` seconds, then SIGKILL; True if it existed."""
    exe = executable_of(pid)
    if exe is None:
        return False
    _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if executable_of(pid) != exe:
            return True
        time.sleep(0.1)
    _signal(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while executable_of(pid) == exe and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def wait_until(
    check: Callable[[], str | None],
    *,
    timeout: float,
    what: str,
    interval: float = 0.5,
    alive: Callable[[], str | None] | None = None,
) -> None:
    """Poll ``check`` (None = ready, else the reason it is not) until ready or timeout.

    ``alive`` returns a message when the thing waited for has died; the wait then
    fails at once instead of running into the timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        reason = check()
        if reason is None:
            return
        died = alive() if alive else None
        if died:
            raise SeedError(f"{what}: {died}")
        if time.monotonic() >= deadline:
            raise SeedError(f"{what}: not ready after {timeout:.0f}s: {reason}")
        time.sleep(interval)


def listeners(ports: Sequence[int]) -> list[Listener]:
    """Processes listening on any of ``ports`` (TCP, IPv4 and IPv6)."""
    inodes: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            port = int(fields[1].rsplit(":", 1)[1], 16)
            if fields[3] == "0A" and port in ports:  # 0A = LISTEN
                inodes[f"socket:[{fields[9]}]"] = port
    found: list[Listener] = []
    if not inodes:
        return found
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fds = list((proc / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target in inodes:
                pid = int(proc.name)
                found.append(
                    Listener(port=inodes[target], pid=pid, executable=executable_of(pid) or "?")
                )
    return found
