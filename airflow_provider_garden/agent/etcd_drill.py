"""`garden-agent etcd drill`: prove that a shoot's newest good snapshot restores.

Runs in the shoot's control-plane namespace with the snapshot store mounted, as the
backup does, and touches neither the shoot's etcd nor its volume: it chooses the
newest good snapshot of the shoot's UID, fetches and verifies it (sha256 against the
manifest, `etcdutl snapshot status`), restores it into a scratch directory, starts a
temporary etcd on 127.0.0.1 (free ports) on it, reads the revision it serves and its
keys, and always stops that etcd again. core/restore_drill.py judges what was read.

A drill that fails is a verdict, not a crash: it is recorded as Failed in
``status.lastRestoreDrill`` with every reason, and the verb then exits non-zero. A
snapshot that fails verification is marked unverified by ``verify`` (as a restore
would), so the next drill takes the newest snapshot that is still good.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from airflow_provider_garden.agent import etcd_restore
from airflow_provider_garden.core.restore_drill import DrillFindings, count_objects, judge
from airflow_provider_garden.core.status import DrillState, LastRestoreDrill
from airflow_provider_garden.snapstore.manifest import read_manifest
from airflow_provider_garden.snapstore.protocol import SnapStore

log = logging.getLogger(__name__)

Run = Callable[[list[str]], "subprocess.CompletedProcess[str]"]
Start = Callable[[list[str], IO[bytes]], "subprocess.Popen[bytes]"]
HEALTH_TIMEOUT = dt.timedelta(minutes=2)
STOP_GRACE_SECONDS = 15
LOG_TAIL = 500


class DrillError(Exception):
    """One step of the drill failed; the message names the step and the cause."""


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600)


def _start(argv: list[str], output: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT)


@dataclass(frozen=True, kw_only=True)
class Tools:
    """The process layer: real binaries in the toolbox image, fakes in unit tests."""

    etcd: str = "etcd"  # the server; the toolbox image carries it for the drill only
    etcdctl: str = "etcdctl"
    run: Run = field(default=_run)
    start: Start = field(default=_start)
    health_timeout: dt.timedelta = HEALTH_TIMEOUT


def free_port() -> int:
    """A port nothing on 127.0.0.1 listens on now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True, kw_only=True)
class ScratchUrls:
    client: str
    peer: str

    @classmethod
    def pick(cls) -> ScratchUrls:
        return cls(client=f"http://127.0.0.1:{free_port()}", peer=f"http://127.0.0.1:{free_port()}")


def _etcdctl(tools: Tools, url: str, *args: str, timeout: str = "300s") -> list[str]:
    # Reading every key of a large cluster takes a while; a health probe must not.
    return [tools.etcdctl, f"--endpoints={url}", f"--command-timeout={timeout}", *args]


def _tail(path: Path) -> str:
    with contextlib.suppress(OSError):
        return path.read_text(errors="replace").strip()[-LOG_TAIL:]
    return ""


@contextlib.contextmanager
def scratch_etcd(data_dir: Path, urls: ScratchUrls, tools: Tools, log_file: Path) -> Iterator[str]:
    """A temporary etcd serving ``data_dir`` until the block ends; yields its client URL.

    Stopped on every way out (an error, SIGTERM's SystemExit): it must not outlive the
    drill, holding the pod's memory and the scratch directory."""
    argv = [
        tools.etcd,
        "--name=etcd-0",
        f"--data-dir={data_dir}",
        f"--listen-client-urls={urls.client}",
        f"--advertise-client-urls={urls.client}",
        f"--listen-peer-urls={urls.peer}",
        f"--initial-advertise-peer-urls={urls.peer}",
        f"--initial-cluster=etcd-0={urls.peer}",
    ]
    with log_file.open("wb") as output:
        process = tools.start(argv, output)
        try:
            _wait_healthy(process, urls.client, tools, log_file)
            yield urls.client
        finally:
            _stop(process)


def _wait_healthy(process: subprocess.Popen[bytes], url: str, tools: Tools, log_file: Path) -> None:
    deadline = time.monotonic() + tools.health_timeout.total_seconds()
    while True:
        if process.poll() is not None:
            raise DrillError(
                f"the scratch etcd exited with status {process.returncode}: {_tail(log_file)}"
            )
        out = tools.run(_etcdctl(tools, url, "endpoint", "health", timeout="5s"))
        if out.returncode == 0:
            return
        if time.monotonic() >= deadline:
            raise DrillError(
                f"the scratch etcd was not healthy within {tools.health_timeout}: "
                f"{out.stderr.strip()[-LOG_TAIL:]} {_tail(log_file)}"
            )
        time.sleep(1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def served_revision(tools: Tools, url: str) -> int:
    out = tools.run(_etcdctl(tools, url, "endpoint", "status", "-w", "json"))
    if out.returncode != 0:
        raise DrillError(f"etcdctl endpoint status failed: {out.stderr.strip()[-LOG_TAIL:]}")
    return int(json.loads(out.stdout)[0]["Status"]["header"]["revision"])


def registry_keys(tools: Tools, url: str) -> list[str]:
    """Every key under /registry (kube-apiserver's prefix), without values."""
    out = tools.run(_etcdctl(tools, url, "get", "/registry", "--prefix", "--keys-only"))
    if out.returncode != 0:
        raise DrillError(f"etcdctl get /registry failed: {out.stderr.strip()[-LOG_TAIL:]}")
    return [line for line in out.stdout.splitlines() if line]  # keys-only: blank-separated


@dataclass(frozen=True, kw_only=True)
class DrillOutcome:
    record: LastRestoreDrill
    objects: dict[str, int]  # per resource; empty when the drill did not get that far

    def to_result(self) -> dict[str, Any]:
        return {**self.record.to_dict(), "objectsByResource": self.objects}


def drill(
    store: SnapStore,
    *,
    shoot_uid: str,
    work: Path,
    tools: Tools,
    now: Callable[[], dt.datetime] = etcd_restore.utc_now,
) -> DrillOutcome:
    """Restore this shoot's newest good snapshot into a scratch etcd and judge it."""
    started = now()
    snapshot: str | None = None
    try:
        snapshot = etcd_restore.choose(store, None, shoot_uid=shoot_uid, from_uid=None)
        findings = _restore_and_read(store, snapshot, work, tools)
    except Exception as err:  # every failed step is the drill's verdict, named
        log.error("restore drill failed: %s", err)
        where = f"snapshot {snapshot}: " if snapshot else ""
        record = LastRestoreDrill(
            time=started,
            snapshot=snapshot,
            state=DrillState.FAILED,
            description=f"{where}{err}",
        )
        return DrillOutcome(record=record, objects={})
    problems = judge(findings)
    if problems:
        description = "; ".join(problems)
    else:
        description = (
            f"restored {findings.snapshot}: revision {findings.served_revision}, "
            f"{findings.total} objects, {findings.objects.get('namespaces', 0)} namespaces"
        )
    record = LastRestoreDrill(
        time=started,
        snapshot=findings.snapshot,
        revision=findings.served_revision,
        objects=findings.total,
        state=DrillState.FAILED if problems else DrillState.SUCCEEDED,
        description=description,
    )
    return DrillOutcome(record=record, objects=dict(findings.objects))


def _restore_and_read(store: SnapStore, snapshot: str, work: Path, tools: Tools) -> DrillFindings:
    work.mkdir(parents=True, exist_ok=True)
    db = work / "drill.db"
    data_dir = work / "drill-data"
    try:
        etcd_restore.fetch_verified(store, snapshot, db)  # raises naming the mismatch
        manifest = read_manifest(store, snapshot)
        urls = ScratchUrls.pick()
        restored = tools.run(etcd_restore.restore_argv(db, data_dir, peer_url=urls.peer))
        if restored.returncode != 0:
            raise DrillError(
                f"etcdutl snapshot restore failed: {restored.stderr.strip()[-LOG_TAIL:]}"
            )
        db.unlink()  # the restored directory holds a copy: halve the scratch space
        with scratch_etcd(data_dir, urls, tools, work / "drill-etcd.log") as url:
            revision = served_revision(tools, url)
            keys = registry_keys(tools, url)
    finally:
        db.unlink(missing_ok=True)
        shutil.rmtree(data_dir, ignore_errors=True)
    return DrillFindings(
        snapshot=snapshot,
        manifest_revision=manifest.end_revision,
        served_revision=revision,
        objects=count_objects(keys),
    )
