"""A throwaway PostgreSQL server for Airflow's metadata database, from Debian's packages.

Started as the unprivileged `postgres` user when run as root (postgres refuses to
run as root), listening on 127.0.0.1 only, on a free port, without a Unix socket
(so nothing collides with a system cluster). Durability is switched off: the
data lives only as long as the test session.
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import time
from pathlib import Path

from processes import ProcessFile, free_port, wait_gone

from airflow_provider_garden.localseed.packages import ensure_debian_packages

DEBIAN_PACKAGE = "postgresql"
SERVICE_USER = "postgres"
SUPERUSER = "airflow"
DATABASE = "airflow"


def postgres_bin_dir() -> Path:
    """The newest installed PostgreSQL's bin directory, installing Debian's if none is."""
    ensure_debian_packages([DEBIAN_PACKAGE])
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name)
    )
    if not candidates:
        raise RuntimeError(f"Debian package {DEBIAN_PACKAGE} is installed but no postgres binary")
    return candidates[-1].parent


class PostgresServer:
    """One PostgreSQL cluster in `root`: initdb, start, create the database, stop by PID."""

    def __init__(self, *, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.log = root / "postgres.log"
        self.port = 0
        self._bin = Path()
        self._user: str | None = SERVICE_USER if os.geteuid() == 0 else None
        self._postmaster: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def pid(self) -> int | None:
        return ProcessFile(self.data / "postmaster.pid").read()

    def start(self) -> None:
        self._bin = postgres_bin_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        if self._user:
            self._hand_over_to_service_user()
        self._run("initdb", "--pgdata", str(self.data), "--username", SUPERUSER, "--auth=trust",
                  "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")  # fmt: skip
        self.port = free_port()
        with self.log.open("ab") as log:
            self._postmaster = subprocess.Popen(
                [str(self._bin / "postgres"), "-D", str(self.data), *_settings(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                user=self._user,
            )
        self._wait_ready(timeout=30)
        self._run("createdb", "--host=127.0.0.1", f"--port={self.port}",
                  f"--username={SUPERUSER}", DATABASE)  # fmt: skip

    def stop(self, timeout: float = 30) -> None:
        """Fast shutdown (SIGINT: abort transactions, exit cleanly) of the recorded postmaster."""
        pid = self.pid
        if pid is None or not _is_our_postmaster(pid, self.data):
            return
        os.kill(pid, signal.SIGINT)
        if not wait_gone(pid, timeout):
            os.kill(pid, signal.SIGKILL)
            wait_gone(pid, 10)

    def _hand_over_to_service_user(self) -> None:
        """The service user must own its directory and reach it through every parent."""
        entry = pwd.getpwnam(SERVICE_USER)
        os.chown(self.root, entry.pw_uid, entry.pw_gid)
        for parent in self.root.parents:
            if not os.stat(parent).st_mode & 0o001:
                raise RuntimeError(
                    f"{SERVICE_USER} cannot reach {self.root}: {parent} is not searchable by "
                    "others; put the stack's home under a world-searchable directory such as /tmp"
                )

    def _run(self, tool: str, *args: str) -> None:
        out = subprocess.run(
            [str(self._bin / tool), *args],
            capture_output=True,
            text=True,
            check=False,
            user=self._user,
            cwd=self.root,
        )
        if out.returncode != 0:
            raise RuntimeError(f"{tool} failed ({out.returncode}): {out.stderr.strip()}")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [str(self._bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                check=False,
            )
            if ready.returncode == 0:
                return
            if self.pid is None and self.log.exists() and "FATAL" in self.log.read_text():
                break
            time.sleep(0.2)
        raise RuntimeError(f"PostgreSQL did not become ready; see {self.log}:\n{_tail(self.log)}")


def _settings(port: int) -> list[str]:
    settings = {
        "listen_addresses": "127.0.0.1",
        "port": str(port),
        "unix_socket_directories": "",
        # A test database: losing it on a crash is fine, waiting for fsync is not.
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "200",
    }
    return [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]


def _is_our_postmaster(pid: int, data: Path) -> bool:
    """Guard against a recycled PID: the process must be postgres serving `data`."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return str(data).encode() in cmdline


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
