"""Start, find and stop the seed's daemons by PID file.

Each daemon runs detached in its own session, logs to ``logs/<name>.log`` and has
``run/<name>.pid`` holding its PID, executable, start time (clock ticks after boot,
/proc/<pid>/stat field 22) and the boot's ID. A PID file is trusted only while all
of them still match: after a reboot, or once the PID is reused (say by the
system's own containerd, the same executable), the file is stale and nothing is
signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
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


@dataclass(frozen=True, kw_only=True)
class Identity:
    """What tells one process from a later one that got the same PID."""

    pid: int
    start_ticks: int
    boot_id: str


def boot_id() -> str:
    return Path("/proc/sys/kernel/random/boot_id").read_text().strip()


def start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat: when the process started, in ticks after boot."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the command name (which may hold spaces and parentheses).
    rest = stat.rsplit(")", 1)[1].split()
    return int(rest[19])  # rest[0] is field 3


def identity_of(pid: int) -> Identity | None:
    ticks = start_ticks(pid)
    return None if ticks is None else Identity(pid=pid, start_ticks=ticks, boot_id=boot_id())


def is_alive(who: Identity) -> bool:
    """Whether the very process ``who`` names still runs (not a zombie, not a successor)."""
    return (
        executable_of(who.pid) is not None
        and start_ticks(who.pid) == who.start_ticks
        and boot_id() == who.boot_id
    )


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

    def __init__(self, *, run_dir: Path, log_dir: Path, home: Path | None = None) -> None:
        self.run_dir = run_dir
        self.log_dir = log_dir
        self.home = home  # every daemon's command line names files in it

    def pid_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def _record(self, name: str) -> _PidRecord | None:
        try:
            lines = self.pid_file(name).read_text().split("\n")
            if len(lines) < 6:  # written by a seed from before start times were kept
                return _PidRecord(pid=int(lines[0]), exe=lines[1], fingerprint=lines[2])
            return _PidRecord(
                pid=int(lines[0]),
                exe=lines[1],
                fingerprint=lines[2],
                identity=Identity(pid=int(lines[0]), start_ticks=int(lines[3]), boot_id=lines[4]),
            )
        except (OSError, ValueError, IndexError):
            return None

    def _write(self, name: str, record: _PidRecord, who: Identity) -> None:
        self.pid_file(name).write_text(
            f"{record.pid}\n{record.exe}\n{record.fingerprint}\n{who.start_ticks}\n{who.boot_id}\n"
        )

    def pid(self, name: str) -> int | None:
        """PID of the running component, or None (a stale PID file counts as not running)."""
        record = self._record(name)
        if record is None:
            return None
        if record.identity is None:  # an older seed's, until `up` or `down` adopts it
            return record.pid if self._legacy_is_ours(record) else None
        alive = is_alive(record.identity) and executable_of(record.pid) == record.exe
        return record.pid if alive else None

    def _legacy_is_ours(self, record: _PidRecord) -> bool:
        return (
            self.home is not None
            and executable_of(record.pid) == record.exe
            and f"{self.home}/" in _cmdline(record.pid)
        )

    def fingerprint(self, name: str) -> str | None:
        """What the running component was started with (see ``start``)."""
        record = self._record(name)
        return record.fingerprint if record and self.pid(name) is not None else None

    def adopt_legacy(self, name: str) -> bool:
        """Give a PID file of an older seed (no start time) the identity of its process.

        Only when that process runs the recorded executable with the seed's home in
        its command line (every daemon's flags name files there): the system's own
        containerd after a reboot does not. Otherwise the file is stale and removed.
        """
        record = self._record(name)
        if record is None or record.identity is not None:
            return False
        who = identity_of(record.pid)
        if who is not None and self._legacy_is_ours(record):
            self._write(name, record, who)
            print(
                f"    adopted {name} (PID {record.pid}) of a seed from before start times were "
                "recorded",
                file=sys.stderr,
            )
            return True
        self.pid_file(name).unlink(missing_ok=True)
        return False

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
        who = identity_of(proc.pid)
        if who is None:  # exited at once; its log says why
            who = Identity(pid=proc.pid, start_ticks=-1, boot_id=boot_id())
        self._write(name, _PidRecord(pid=proc.pid, exe=exe, fingerprint=fingerprint), who)
        return proc.pid

    def stop(self, name: str, *, timeout: float = 20.0) -> bool:
        """SIGTERM the component, SIGKILL after ``timeout``; True if it was running.

        The PID file goes either way; a process it named that is not ours is never
        signalled.
        """
        record = self._record(name)
        stopped = False
        if record is not None and record.identity is not None and self.pid(name) is not None:
            stopped = terminate(record.identity, timeout=timeout)
        self.pid_file(name).unlink(missing_ok=True)
        return stopped

    def log_tail(self, name: str, lines: int = 15) -> str:
        try:
            text = self.log_file(name).read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def terminate(who: Identity, *, timeout: float) -> bool:
    """SIGTERM the process, wait up to ``timeout`` seconds, then SIGKILL; True if it existed.

    Each signal goes only while the PID still names that very process.
    """
    if not is_alive(who):
        return False
    _signal(who.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(who):
            return True
        time.sleep(0.1)
    if is_alive(who):
        _signal(who.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while is_alive(who) and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


def _cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


@dataclass(frozen=True, kw_only=True)
class _PidRecord:
    pid: int
    exe: str
    fingerprint: str
    identity: Identity | None = None  # None: written before start times were kept


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
