"""A real S3-compatible server for the tests: versitygw over a plain directory.

versitygw (Apache-2.0) is built from its Go module like the local seed's binaries
(same cache, same lock, GOTOOLCHAIN=local; its go.mod has no replace directives)
and serves a temporary directory through its POSIX backend, so object
``<bucket>/<key>`` is the file ``<data_dir>/<bucket>/<key>``: tests can change an
object's bytes behind the server's back. Each server listens on a free
127.0.0.1 port with generated credentials (passed in its environment, so they do
not show in ``ps``) and is stopped by the PID in its PID file.
"""

from __future__ import annotations

import fcntl
import functools
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from airflow_provider_garden.localseed.gobuild import (
    GoBuildSpec,
    GoTool,
    binaries_of,
    ensure_go_build,
    is_built,
)
from airflow_provider_garden.localseed.paths import SeedPaths

VERSION = "v1.8.0"
SPEC = GoBuildSpec(
    name=f"versitygw-{VERSION}",
    module="github.com/versity/versitygw",
    version=VERSION,
    packages=("github.com/versity/versitygw/cmd/versitygw",),
    extra_x=(("main.Version", VERSION),),
)
REGION = "us-east-1"
HEALTH_PATH = "/health"


def ensure_versitygw(paths: SeedPaths | None = None) -> Path:
    """The cached binary, built first if missing (a cold build takes a minute or two)."""
    paths = paths or SeedPaths.default()
    if not is_built(SPEC, paths.bin):
        paths.cache.mkdir(parents=True, exist_ok=True)
        # The seed's build lock: parallel sessions never build into the same cache at once.
        with (paths.cache / ".build.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            ensure_go_build(SPEC, go=GoTool.find(), work_root=paths.gobuild, bin_root=paths.bin)
    return binaries_of(SPEC, paths.bin)["versitygw"]


class S3Server:
    """A running versitygw; ``stop()`` ends it by the PID in ``pid_file``."""

    def __init__(
        self,
        *,
        process: subprocess.Popen[bytes],
        endpoint: str,
        access_key_id: str,
        secret_access_key: str,
        data_dir: Path,
        pid_file: Path,
        log_file: Path,
        started_in: float,
    ) -> None:
        self._process = process
        self.endpoint = endpoint
        self.region = REGION
        self._access_key_id = access_key_id
        self._secret_access_key = secret_access_key
        self.data_dir = data_dir
        self.pid_file = pid_file
        self.log_file = log_file
        self.started_in = started_in  # seconds from exec to the first healthy answer

    def __repr__(self) -> str:
        return f"S3Server(endpoint={self.endpoint!r}, pid_file={str(self.pid_file)!r})"

    @property
    def secret_access_key(self) -> str:
        return self._secret_access_key

    def object_path(self, bucket: str, key: str) -> Path:
        """Where the POSIX backend keeps the bytes of ``bucket/key``."""
        return self.data_dir / bucket / key

    def write_secret_dir(self, directory: Path, *, secret_access_key: str | None = None) -> Path:
        """Lay the credentials out like a mounted Kubernetes Secret (one file per key)."""
        directory.mkdir(parents=True, exist_ok=True)
        files = {
            "accessKeyID": self._access_key_id,
            "secretAccessKey": secret_access_key or self._secret_access_key,
            "endpoint": self.endpoint,
            "region": self.region,
        }
        for name, value in files.items():
            path = directory / name
            path.write_text(value + "\n")  # kubectl --from-file keeps a trailing newline
            path.chmod(0o600)
        return directory

    @functools.cached_property
    def _raw_client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self._access_key_id,
            aws_secret_access_key=self._secret_access_key,
            config=Config(s3={"addressing_style": "path"}),
        )

    def client(self) -> Any:
        """A plain boto3 client (one per server; making one costs ~0.3 s) for test set-up
        and for looking behind the snapstore."""
        return self._raw_client

    def stop(self, timeout: float = 10.0) -> None:
        stop_by_pid_file(self.pid_file, timeout=timeout)
        self._process.wait(timeout=timeout)  # reap our child


def start(
    work_dir: Path, *, binary: Path | None = None, timeout: float = 30.0, host: str = "127.0.0.1"
) -> S3Server:
    """Start versitygw on a free port of ``host`` with a fresh data directory under ``work_dir``.

    ``host`` is loopback unless pods must reach the server too: then the seed's own
    bridge address (10.200.0.1), which never leaves this machine.
    """
    binary = binary or ensure_versitygw()
    data_dir = work_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    access_key_id = "GARDEN" + secrets.token_hex(7).upper()
    secret_access_key = secrets.token_urlsafe(30)
    for _attempt in range(3):  # another process may take the free port before we bind it
        port = _free_port(host)
        endpoint = f"http://{host}:{port}"
        log_file = work_dir / "versitygw.log"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ROOT_ACCESS_KEY_ID": access_key_id,
            "ROOT_SECRET_ACCESS_KEY": secret_access_key,
        }
        args = [str(binary), "--port", f"{host}:{port}", "--region", REGION, "--quiet"]
        args += ["--health", HEALTH_PATH, "posix", str(data_dir)]
        began = time.monotonic()
        with log_file.open("ab") as log:
            process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        pid_file = work_dir / "versitygw.pid"
        pid_file.write_text(f"{process.pid}\n")
        if _wait_healthy(process, endpoint + HEALTH_PATH, deadline=began + timeout):
            return S3Server(
                process=process,
                endpoint=endpoint,
                access_key_id=access_key_id,
                secret_access_key=secret_access_key,
                data_dir=data_dir,
                pid_file=pid_file,
                log_file=log_file,
                started_in=time.monotonic() - began,
            )
        if process.poll() is None:
            stop_by_pid_file(pid_file)
            process.wait()
            raise RuntimeError(f"versitygw did not answer within {timeout}s; see {log_file}")
        process.wait()
        if "address already in use" not in log_file.read_text():
            break
    tail = "\n".join(log_file.read_text().splitlines()[-20:])
    raise RuntimeError(f"versitygw exited with {process.returncode}:\n{tail}")


def stop_by_pid_file(pid_file: Path, *, timeout: float = 10.0) -> None:
    """SIGTERM (then SIGKILL) the versitygw named by ``pid_file``; a reused PID that is
    no longer versitygw is left alone. The PID file is removed."""
    try:
        pid = int(pid_file.read_text())
    except FileNotFoundError:
        return
    if _is_versitygw(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _is_running(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _is_running(pid):
            os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)


def _wait_healthy(process: subprocess.Popen[bytes], url: str, *, deadline: float) -> bool:
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310 (http to loopback)
                if answer.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.02)
    return False


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _is_versitygw(pid: int) -> bool:
    try:
        return Path(os.readlink(f"/proc/{pid}/exe")).name == "versitygw"
    except OSError:
        return False


def _is_running(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"
