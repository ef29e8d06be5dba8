"""`garden-agent etcd backup`: a verified full snapshot of a shoot's etcd, then retention.

Order matters, so that a pod killed at any point leaves nothing that looks good, and a
full store frees space before it is judged: retention -> room in a local store for a
snapshot of etcd's database size (else fail naming the store and the sizes) -> snapshot
to local disk -> `etcdutl snapshot status` (integrity, revision) -> optional gzip ->
manifest written *unverified* -> object uploaded -> object re-read and its sha256
compared -> manifest marked verified -> retention again (the new snapshot may push an
older one out). Each backup writes under a key of its own
(core.retention.unique_snapshot_name), so concurrent backups of one shoot never pair one's
manifest with the other's object. Retention never deletes the newest good snapshot. Every
manifest records the shoot's UID; retention looks only at snapshots of that UID (another
shoot of the same name, deleted or re-created, keeps its own).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_provider_garden.core.retention import (
    Snapshot,
    plan_retention,
    unique_snapshot_name,
)
from airflow_provider_garden.core.shoot_spec import RetentionPolicy
from airflow_provider_garden.core.snapshot_owner import of_uid
from airflow_provider_garden.core.store_space import format_size, needed_bytes, room_problem
from airflow_provider_garden.snapstore.local import LocalStore
from airflow_provider_garden.snapstore.manifest import (
    Manifest,
    digest,
    good_snapshots,
    list_snapshots,
    manifest_key,
    owned,
    verify,
    write_manifest,
)
from airflow_provider_garden.snapstore.protocol import SnapStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class EtcdEndpoint:
    """How the agent reaches the shoot's etcd (client certificate from a mounted Secret)."""

    url: str
    tls_dir: Path  # ca.crt, tls.crt, tls.key

    def etcdctl(self, *args: str) -> list[str]:
        return [
            "etcdctl",
            f"--endpoints={self.url}",
            f"--cacert={self.tls_dir / 'ca.crt'}",
            f"--cert={self.tls_dir / 'tls.crt'}",
            f"--key={self.tls_dir / 'tls.key'}",
            "--command-timeout=60s",
            *args,
        ]


def snapshot_status(path: Path) -> dict[str, Any]:
    """`etcdutl snapshot status`: fails on a corrupt file; gives revision, hash, version."""
    out = subprocess.run(
        ["etcdutl", "snapshot", "status", str(path), "-w", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"snapshot {path.name} failed its integrity check: {out.stderr.strip()}")
    status: dict[str, Any] = json.loads(out.stdout)
    return status


def database_size(endpoint: EtcdEndpoint) -> int:
    """The size of etcd's database file as the server reports it (``dbSize``): what the
    next snapshot will be, before compression."""
    out = subprocess.run(
        endpoint.etcdctl("endpoint", "status", "-w", "json"),
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"etcdctl endpoint status failed: {out.stderr.strip()[-500:]}")
    return int(json.loads(out.stdout)[0]["Status"]["dbSize"])


def check_room(endpoint: EtcdEndpoint, store: SnapStore, capacity: int | None) -> None:
    """Raise naming the store and the sizes when a local store has no room for the next
    snapshot. An S3 store has no notion of free space: it is not checked."""
    if not isinstance(store, LocalStore) or capacity is None:
        return
    db_size = database_size(endpoint)
    space = store.space(capacity)
    problem = room_problem(store.describe(), space, db_size=db_size)
    if problem is not None:
        raise problem
    log.info(
        "room for the snapshot: needs %s, %s free of %s",
        format_size(needed_bytes(db_size)),
        format_size(space.free),
        format_size(space.capacity),
    )


def take_snapshot(endpoint: EtcdEndpoint, work: Path) -> tuple[Path, dict[str, Any]]:
    db = work / "snapshot.db"
    db.unlink(missing_ok=True)
    out = subprocess.run(
        endpoint.etcdctl("snapshot", "save", str(db)), capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"etcdctl snapshot save failed: {out.stderr.strip()[-500:]}")
    status = snapshot_status(db)
    # The snapshot file does not say which etcd wrote it; the server does.
    server = subprocess.run(
        endpoint.etcdctl("endpoint", "status", "-w", "json"),
        capture_output=True,
        text=True,
        check=False,
    )
    if server.returncode == 0:
        status["version"] = json.loads(server.stdout)[0]["Status"]["version"]
    return db, status


def _gzip(src: Path) -> Path:
    dst = src.with_name(src.name + ".gz")
    with src.open("rb") as raw, gzip.open(dst, "wb", compresslevel=1) as packed:
        shutil.copyfileobj(raw, packed, length=1 << 20)
    return dst


def backup(
    endpoint: EtcdEndpoint,
    store: SnapStore,
    *,
    work: Path,
    compress: bool,
    policy: RetentionPolicy | None,
    keep_last: int,
    shoot_uid: str,
    store_capacity: int | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """``store_capacity``: the local store volume's size; retention runs first, so a full
    store frees what the policy lets go before its room for the snapshot is checked."""

    def retain() -> list[str]:
        if policy is None:
            return []
        return apply_retention(store, policy, keep_last=keep_last, shoot_uid=shoot_uid, now=now)

    deleted = retain()
    check_room(endpoint, store, store_capacity)
    db, status = take_snapshot(endpoint, work)
    revision, db_size = int(status["revision"]), db.stat().st_size
    log.info("snapshot at revision %d: %d keys, %d bytes", revision, status["totalKey"], db_size)
    payload = _gzip(db) if compress else db
    with payload.open("rb") as stream:
        sha256, size = digest(stream)
    # A key of its own: another backup of this shoot running now (backups hold no Lease)
    # never writes this object or its manifest, so the manifest describes exactly the
    # object saved below. The manifest still goes first: a backup killed after it leaves
    # a record marked with the shoot's UID, which retention expires (an object without
    # a manifest would be unmarked, and retention leaves those alone).
    name = unique_snapshot_name(0, revision, now or dt.datetime.now(dt.UTC), compress)
    write_manifest(
        store,
        Manifest.for_snapshot(
            name,
            size=size,
            sha256=sha256,
            etcd_version=str(status.get("version", "unknown")),
            shoot_uid=shoot_uid,
        ),
    )
    with payload.open("rb") as stream:
        store.save(name, stream)
    manifest = verify(store, name)  # re-read from the store: only now is it good
    log.info("stored %s (%d bytes, sha256 %s), verified", name, size, sha256[:12])
    for f in {db, payload}:
        f.unlink(missing_ok=True)
    deleted += retain()  # the new snapshot may push an older one out of the policy
    return {
        **manifest.to_dict(),
        "dbSize": db_size,
        "keys": int(status["totalKey"]),
        "deleted": deleted[:20],
        "deletedCount": len(deleted),
    }


def apply_retention(
    store: SnapStore,
    policy: RetentionPolicy,
    *,
    keep_last: int,
    shoot_uid: str,
    now: dt.datetime | None = None,
) -> list[str]:
    """Retention over the snapshots of ``shoot_uid`` only: never another shoot's keys,
    nor unmarked ones (nothing proves whose they are)."""
    mine = of_uid(owned(list_snapshots(store)), shoot_uid)
    plan = plan_retention(
        [Snapshot(name=s.key, created=s.created, good=s.good) for s in mine],
        policy=policy,
        now=now or dt.datetime.now(dt.UTC),
        keep_last=keep_last,
    )
    for decision in plan.delete:
        log.info("retention (%s): deleting %s: %s", policy, decision.name, decision.reason)
        store.delete(decision.name)
        store.delete(manifest_key(decision.name))
    return list(plan.delete_names)


def list_good(store: SnapStore) -> list[dict[str, Any]]:
    return [e.manifest.to_dict() for e in good_snapshots(store) if e.manifest]


def drop_snapshots_of(store: SnapStore, shoot_uid: str) -> list[str]:
    """Delete every snapshot (object and manifest) the shoot with ``shoot_uid`` wrote:
    a deleted shoot's kept snapshots once they expire. Other UIDs' keys are untouched."""
    mine = of_uid(owned(list_snapshots(store)), shoot_uid)
    for snap in mine:
        log.info("dropping %s of deleted shoot UID %s", snap.key, shoot_uid)
        store.delete(snap.key)
        store.delete(manifest_key(snap.key))
    return [s.key for s in mine]
