"""`garden-agent etcd restore`: put a verified snapshot back into a shoot's etcd.

Runs in the shoot's control-plane namespace with the etcd volume mounted. A journaled
operation (core/restore_journal.py): verify and fetch the snapshot, stop
kube-apiserver and etcd, restore into `data.part`, swap it in for `data` (the
previous directory is renamed aside, not deleted), start etcd, prove it serves the
snapshot's revision, only then drop the previous directory and start kube-apiserver.
A snapshot of another UID (``from_uid``) holds Secrets encrypted with that deleted
shoot's keys: before anything stops, its kept keys are appended to this control plane's
encryption configuration and a rewrite of the Secrets is marked due (the next reconcile
re-encrypts them under the shoot's own key: agent/components/secrets_at_rest.py).
Each phase is recorded once done. A failure rolls back; SIGTERM rolls back before
the swap and leaves etcd running on complete data after it; a restore that died is
settled by the next restore before it does anything else.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import gzip
import json
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from airflow_provider_garden.agent.etcd_backup import EtcdEndpoint, snapshot_status
from airflow_provider_garden.agent.etcd_journal import JournalStore
from airflow_provider_garden.core.controlplane.encryption import (
    ENCRYPTION_FILE,
    ENCRYPTION_SECRET,
    REWRITE_ANNOTATION,
    with_kept_keys,
)
from airflow_provider_garden.core.controlplane.manifests import ETCD_DATA_DIR
from airflow_provider_garden.core.etcd_data_check import RESTORED_FROM_FILE, RestoredFrom
from airflow_provider_garden.core.flow import PermanentError
from airflow_provider_garden.core.kept_backups import KeptBackupsError
from airflow_provider_garden.core.restore_journal import (
    ORDER,
    Dir,
    Direction,
    Layout,
    Phase,
    Rename,
    RestoreJournal,
    Step,
    direction,
    finish_steps,
    previous_name,
    proven,
    rollback_steps,
)
from airflow_provider_garden.core.snapshot_owner import (
    UNMARKED,
    SnapshotChoiceError,
    choose_restore,
)
from airflow_provider_garden.kube import kept_backups
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.workload import deployment_available, statefulset_ready
from airflow_provider_garden.snapstore.manifest import list_snapshots, owned, verify
from airflow_provider_garden.snapstore.protocol import SnapStore

log = logging.getLogger(__name__)
WAIT = dt.timedelta(minutes=5)
PEER_URL = "http://127.0.0.1:2380"  # the shoot's etcd StatefulSet: one member, local peer

# Test-only fault points, read at phase boundaries only (unset, they do nothing). Values:
# a Phase value (right after that phase is recorded) or BETWEEN_RENAMES. EXIT_AT ends
# the process at once, as under SIGKILL (no `finally`, no handler, no journal write);
# PAUSE_AT sleeps there (at most PAUSE_LIMIT, then goes on) so a test can stop the pod
# at that phase: its SIGTERM interrupts the sleep like any other step.
EXIT_AT_ENV = "GARDEN_TEST_RESTORE_EXIT_AT"
PAUSE_AT_ENV = "GARDEN_TEST_RESTORE_PAUSE_AT"
PAUSE_LIMIT = dt.timedelta(minutes=5)
BETWEEN_RENAMES = "between-renames"


def _fault_point(name: str) -> None:
    if os.environ.get(EXIT_AT_ENV) == name:
        log.warning("%s=%s: exiting now, as if killed", EXIT_AT_ENV, name)
        os._exit(137)
    if os.environ.get(PAUSE_AT_ENV) == name:
        log.warning("%s=%s: pausing here until a signal", PAUSE_AT_ENV, name)
        deadline = time.monotonic() + PAUSE_LIMIT.total_seconds()
        while time.monotonic() < deadline:
            time.sleep(0.5)
        log.warning("%s=%s: no signal came; going on", PAUSE_AT_ENV, name)


class Interrupted(BaseException):  # a stop, like KeyboardInterrupt
    """SIGTERM arrived while the restore ran (eviction, task stopped, timeout).

    Not an Exception: no retry loop on the way (`except Exception`) may swallow it."""


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[dict[str, bool]]:
    """SIGTERM raises Interrupted while ``armed``; settling disarms it, so a second
    signal cannot break a rollback half-way (the grace period still bounds it)."""
    state = {"armed": True}

    def handler(signum: int, _: object) -> None:
        if state["armed"]:
            state["armed"] = False
            raise Interrupted(f"signal {signum}")
        log.warning("signal %d while settling the restore: finishing that first", signum)

    before = signal.signal(signal.SIGTERM, handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGTERM, before)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def choose(store: SnapStore, snapshot: str | None, *, shoot_uid: str, from_uid: str | None) -> str:
    """The snapshot to restore: only this shoot's (its UID) unless ``from_uid`` names another."""
    try:
        chosen = choose_restore(
            owned(list_snapshots(store)), shoot_uid=shoot_uid, snapshot=snapshot, from_uid=from_uid
        )
    except SnapshotChoiceError as err:
        raise PermanentError(str(err)) from None
    return chosen.key


def add_kept_keys(
    kube: KubeClient, *, namespace: str, shoot: tuple[str, str] | None, from_uid: str | None
) -> bool:
    """Let this control plane read a deleted shoot's snapshot: that UID's kept keys
    appended to its own (which still writes), a rewrite of the Secrets marked due.
    False: nothing to add (this shoot's own snapshot, one from before UIDs, or a deleted
    shoot without keys, whose Secrets are plain and read through identity)."""
    if not from_uid or from_uid == UNMARKED:
        return False
    if shoot is None:
        raise PermanentError(f"restoring {from_uid}'s snapshot needs the shoot's project/name")
    project, name = shoot
    try:
        kept = kept_backups.kept_keys(kube, project, name, from_uid)
    except KeptBackupsError as err:
        raise PermanentError(str(err)) from None
    if kept is None:
        log.warning("%s/%s@%s kept no encryption keys: its Secrets are plain", project, name,
                    from_uid)  # fmt: skip
        return False
    own = kube.find("v1", "Secret", ENCRYPTION_SECRET, namespace)
    config = ((own or {}).get("data") or {}).get(ENCRYPTION_FILE)
    if config is None:
        raise PermanentError(
            f"{namespace}/{ENCRYPTION_SECRET} is missing: reconcile the shoot (it issues its "
            f"key) before restoring {from_uid}'s encrypted snapshot"
        )
    merged = with_kept_keys(base64.b64decode(config), base64.b64decode(kept))
    patch = {
        "metadata": {"annotations": {REWRITE_ANNOTATION: from_uid}},
        "data": {ENCRYPTION_FILE: base64.b64encode(merged).decode()},
    }
    kube.merge_patch("v1", "Secret", ENCRYPTION_SECRET, patch, namespace)
    log.info("added %s/%s@%s's kept encryption keys; Secrets rewrite due", project, name,
             from_uid)  # fmt: skip
    return True


class _Restore:
    def __init__(
        self,
        kube: KubeClient,
        endpoint: EtcdEndpoint,
        *,
        namespace: str,
        data_mount: Path,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.kube = kube
        self.endpoint = endpoint
        self.namespace = namespace
        self.mount = data_mount
        self.clock = clock
        self.journal = JournalStore(kube, namespace)

    # --- the volume ---------------------------------------------------------

    def path(self, journal: RestoreJournal, d: Dir) -> Path:
        names = {Dir.DATA: Path(ETCD_DATA_DIR).name, Dir.PART: "data.part"}
        return self.mount / names.get(d, journal.previous)

    def layout(self, journal: RestoreJournal) -> Layout:
        there = {d: self.path(journal, d).exists() for d in Dir}
        return Layout(data=there[Dir.DATA], part=there[Dir.PART], previous=there[Dir.PREVIOUS])

    def apply(self, journal: RestoreJournal, steps: list[Step]) -> None:
        for step in steps:
            if isinstance(step, Rename):
                self.path(journal, step.source).rename(self.path(journal, step.target))
                log.info("renamed %s to %s", step.source, step.target)
            else:
                shutil.rmtree(self.path(journal, step), ignore_errors=True)
                log.info("removed %s", self.path(journal, step).name)
            self._sync_mount()

    def _sync_mount(self) -> None:
        """A rename is durable once its directory is synced (a node crash keeps it)."""
        fd = os.open(self.mount, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # --- the control plane --------------------------------------------------

    def scale(self, kind: str, name: str, replicas: int) -> None:
        patch = {"spec": {"replicas": replicas}}
        self.kube.merge_patch("apps/v1", kind, name, patch, self.namespace)

    def no_pods(self, app: str) -> None:
        pods = self.kube.list("v1", "Pod", self.namespace, label_selector=f"app={app}")
        if pods:
            raise RuntimeError(f"{len(pods)} {app} pod(s) still running")

    def stop(self, kind: str, app: str) -> None:
        self.scale(kind, app, 0)
        _wait(lambda: self.no_pods(app), what=f"{app} stopped")

    def revision(self) -> int:
        if not statefulset_ready(self.kube, self.namespace, "etcd"):
            raise RuntimeError("etcd is not ready yet")
        out = subprocess.run(
            self.endpoint.etcdctl("endpoint", "status", "-w", "json"),
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if out.returncode != 0:
            raise RuntimeError(f"etcd is not healthy yet: {out.stderr.strip()[-200:]}")
        return int(json.loads(out.stdout)[0]["Status"]["header"]["revision"])

    def apiserver_available(self) -> None:
        if not deployment_available(self.kube, self.namespace, "kube-apiserver"):
            raise RuntimeError("kube-apiserver is not available yet")

    # --- the journal --------------------------------------------------------

    def record(self, journal: RestoreJournal, phase: Phase) -> RestoreJournal:
        journal = self.journal.write(journal.advance(phase, now=self.clock()))
        log.info("restore of %s: %s", journal.snapshot, phase)
        _fault_point(phase.value)
        return journal

    def close(self, journal: RestoreJournal, phase: Phase, message: str) -> RestoreJournal:
        log.info("restore of %s: %s (%s)", journal.snapshot, phase, message)
        return self.journal.write(journal.close(phase, now=self.clock(), message=message))

    def roll_back(self, journal: RestoreJournal, why: str) -> RestoreJournal:
        steps = rollback_steps(journal, self.layout(journal))
        if any(isinstance(s, Rename) for s in steps):
            self.stop("StatefulSet", "etcd")  # never rename under a running etcd
        self.apply(journal, steps)
        self.scale("StatefulSet", "etcd", 1)
        self.scale("Deployment", "kube-apiserver", 1)
        return self.close(journal, Phase.ROLLED_BACK, why)

    def prove(self, journal: RestoreJournal) -> RestoreJournal:
        """Start etcd on the restored data; roll back unless it serves the snapshot."""
        self.scale("StatefulSet", "etcd", 1)
        if journal.phase is Phase.SWAPPED:
            journal = self.record(journal, Phase.STARTED)

        def serves_snapshot() -> None:
            revision = self.revision()
            if not proven(journal, revision=revision):
                raise RuntimeError(f"etcd serves revision {revision} < {journal.revision}")

        try:
            _wait(serves_snapshot, what="etcd serving the restored snapshot")
        except TimeoutError as err:
            self.roll_back(journal, f"restored etcd never became healthy: {err}")
            raise
        return self.record(journal, Phase.HEALTHY)

    def finish(self, journal: RestoreJournal) -> RestoreJournal:
        self.apply(journal, finish_steps(journal, self.layout(journal)))
        self.scale("Deployment", "kube-apiserver", 1)
        return self.close(journal, Phase.DONE, f"restored {journal.snapshot}")

    def settle(self, journal: RestoreJournal) -> RestoreJournal:
        """Finish or roll back a restore that did not end (it died, or was stopped)."""
        log.warning("settling an open restore of %s at %s", journal.snapshot, journal.phase)
        way = direction(journal)
        if way is Direction.ROLL_BACK:
            return self.roll_back(journal, f"rolled back from {journal.phase} by a later restore")
        if way is Direction.PROVE:
            journal = self.prove(journal)
        journal = self.finish(journal)
        _wait(self.apiserver_available, what="kube-apiserver available")
        return journal

    def after_failure(self, journal: RestoreJournal, interrupted: bool) -> None:
        """Leave complete data in place, within a grace period when ``interrupted``."""
        journal = self.journal.read() or journal  # a rollback may have closed it already
        if not journal.open:
            return
        at = ORDER.index(journal.phase)
        if journal.phase is Phase.HEALTHY:
            self.finish(journal)
        elif at < ORDER.index(Phase.SWAPPED):
            self.roll_back(journal, f"stopped at {journal.phase}")
        elif interrupted:
            # Proving takes longer than a grace period: etcd runs on the complete restored
            # data; the journal stays open, so reconcile waits for the next restore.
            self.scale("StatefulSet", "etcd", 1)
        else:
            self.roll_back(journal, f"failed at {journal.phase}")

    # --- a new restore ------------------------------------------------------

    def run(
        self, store: SnapStore, work: Path, snapshot: str | None, *, shoot_uid: str,
        from_uid: str | None, shoot: tuple[str, str] | None = None,
    ) -> RestoreJournal:  # fmt: skip
        name = choose(store, snapshot, shoot_uid=shoot_uid, from_uid=from_uid)
        db = work / "restore.db"
        revision = fetch_verified(store, name, db)
        # Before kube-apiserver stops: the one started on the restored data reads them.
        add_kept_keys(self.kube, namespace=self.namespace, shoot=shoot, from_uid=from_uid)
        now = self.clock()
        journal = RestoreJournal(
            phase=Phase.VERIFIED,
            snapshot=name,
            revision=revision,
            previous=previous_name(now),
            had_data=(self.mount / Path(ETCD_DATA_DIR).name).exists(),
            started=now,
            updated=now,
        )
        with _sigterm_raises() as signals:
            try:
                journal = self.journal.write(journal)
                _fault_point(Phase.VERIFIED.value)
                journal = self._phases(journal, db)
            except BaseException as err:
                signals["armed"] = False
                log.error("restore of %s stopped at %s: %s", name, journal.phase, err)
                self.after_failure(journal, interrupted=not isinstance(err, Exception))
                raise
            finally:
                signals["armed"] = False
        return journal

    def _phases(self, journal: RestoreJournal, db: Path) -> RestoreJournal:
        self.stop("Deployment", "kube-apiserver")
        self.stop("StatefulSet", "etcd")
        journal = self.record(journal, Phase.STOPPED)

        part = self.path(journal, Dir.PART)
        restore_data_dir(
            db,
            part,
            RestoredFrom(
                snapshot=journal.snapshot, revision=journal.revision, restored=self.clock()
            ),
        )
        journal = self.record(journal, Phase.RESTORED_TO_PART)

        data = self.path(journal, Dir.DATA)
        if data.exists():
            data.rename(self.path(journal, Dir.PREVIOUS))
            self._sync_mount()
        _fault_point(BETWEEN_RENAMES)
        part.rename(data)
        self._sync_mount()
        journal = self.record(journal, Phase.SWAPPED)
        journal = self.prove(journal)
        journal = self.finish(journal)
        _wait(self.apiserver_available, what="kube-apiserver available")
        return journal


def fetch_verified(store: SnapStore, name: str, db: Path) -> int:
    """Verify snapshot ``name`` in the store, write it (unpacked) to ``db``; its revision."""
    verify(store, name)  # the bytes, not only the flag: corrupt means no restore
    with store.fetch(name) as stream, db.open("wb") as out:
        source = gzip.GzipFile(fileobj=stream) if name.endswith(".gz") else stream
        shutil.copyfileobj(source, out, length=1 << 20)
    return int(snapshot_status(db)["revision"])


def restore_argv(db: Path, target: Path, *, peer_url: str = PEER_URL) -> list[str]:
    """`etcdutl snapshot restore` of ``db`` into a new data directory ``target`` for a
    one-member cluster `etcd-0` whose peers reach it at ``peer_url``."""
    return [
        "etcdutl", "snapshot", "restore", str(db),
        f"--data-dir={target}", "--name=etcd-0",
        f"--initial-cluster=etcd-0={peer_url}",
        f"--initial-advertise-peer-urls={peer_url}",
    ]  # fmt: skip


def restore_data_dir(db: Path, target: Path, restored_from: RestoredFrom) -> None:
    """A new etcd data directory at ``target`` from snapshot file ``db``, carrying the
    record of where it came from (etcd's data check reads it)."""
    shutil.rmtree(target, ignore_errors=True)
    out = subprocess.run(restore_argv(db, target), capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise PermanentError(f"etcdutl snapshot restore failed: {out.stderr.strip()[-500:]}")
    record = target / RESTORED_FROM_FILE
    with record.open("w") as f:
        json.dump(restored_from.to_dict(), f, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())


def _wait(check: Callable[[], None], *, what: str, timeout: dt.timedelta = WAIT) -> None:
    deadline = time.monotonic() + timeout.total_seconds()
    while True:
        try:
            check()
            return
        except (RuntimeError, OSError) as err:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"waited {timeout} for {what}: {err}") from err
            time.sleep(1)


def restore(
    kube: KubeClient,
    store: SnapStore,
    endpoint: EtcdEndpoint,
    *,
    namespace: str,
    data_mount: Path,
    work: Path,
    snapshot: str | None,
    shoot_uid: str,
    from_uid: str | None = None,
    shoot: tuple[str, str] | None = None,
    clock: Callable[[], dt.datetime] = utc_now,
) -> dict[str, Any]:
    """``shoot``: (project, name), whose kept keys a ``from_uid`` restore reads."""
    r = _Restore(kube, endpoint, namespace=namespace, data_mount=data_mount, clock=clock)
    open_ = r.journal.read()
    if open_ is not None and open_.open:
        with _sigterm_raises() as signals:
            signals["armed"] = False  # settling is what a stop would do anyway
            settled = r.settle(open_)
        if settled.phase is Phase.DONE and snapshot in (None, settled.snapshot):
            return _result(settled, settled_open=open_.phase)
    journal = r.run(store, work, snapshot, shoot_uid=shoot_uid, from_uid=from_uid, shoot=shoot)
    return _result(journal, settled_open=open_.phase if open_ and open_.open else None)


def _result(journal: RestoreJournal, *, settled_open: Phase | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "state": "Restored",
        "snapshot": journal.snapshot,
        "revision": journal.revision,
    }
    if settled_open is not None:
        out["settledOpenRestoreAt"] = settled_open.value
    return out
