"""`garden-agent etcd check-data`: the etcd pod's init step (core/etcd_data_check.py judges).

Runs before etcd, on the same data volume, with the shoot's snapshot store mounted:
observes the data directory (the database's revision read offline by ``etcdutl``,
the record a restore left) and the newest good snapshot of this shoot's UID (never
another UID's: a deleted shoot of the same name keeps its snapshots under the same
prefix), then starts etcd (exit 0),
refuses (exit 1, the reason in the termination message, which reconcile reads into
ERR_ETCD_DATA_LOST), or restores the newest good snapshot first (autoRestore): into
a directory beside ``data``, renamed into place only when complete; data found lost
are renamed aside (``data.lost-<time>``, the newest one kept), never deleted first.

It holds no Lease (the pod has no API access): it runs only while its own etcd is down,
a ``garden_restore`` stops etcd before touching the data, and reconcile does not start
etcd while a restore journal is open.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airflow_provider_garden.agent.etcd_backup import snapshot_status
from airflow_provider_garden.agent.etcd_restore import (
    fetch_verified,
    restore_data_dir,
    utc_now,
)
from airflow_provider_garden.agent.result import emit
from airflow_provider_garden.core.controlplane.manifests import ETCD_DATA_DIR
from airflow_provider_garden.core.etcd_data_check import (
    RESTORED_FROM_FILE,
    DataDir,
    Decision,
    GoodBackup,
    RestoredFrom,
    Verdict,
    decide,
)
from airflow_provider_garden.snapstore.manifest import newest_good_of
from airflow_provider_garden.snapstore.protocol import SnapStore

log = logging.getLogger(__name__)
DATABASE = Path("member/snap/db")
PART = "data.check-part"
LOST_PREFIX = "data.lost-"


class DataRefused(SystemExit):
    """etcd must not start: the pod's init container ends non-zero (its result is written)."""


def observe(data: Path) -> DataDir:
    """The data directory as it is on the volume (etcd is not running yet)."""
    db = data / DATABASE
    if not db.is_file() or db.stat().st_size == 0:
        return DataDir(revision=None)
    revision = int(snapshot_status(db)["revision"])
    record = data / RESTORED_FROM_FILE
    restored_from = None
    if record.is_file():
        restored_from = RestoredFrom.from_dict(json.loads(record.read_text()))
    return DataDir(revision=revision, restored_from=restored_from)


def newest_good_backup(store: SnapStore, shoot_uid: str) -> GoodBackup | None:
    """The newest good snapshot the shoot with ``shoot_uid`` wrote (the restore's rule)."""
    entry = newest_good_of(store, shoot_uid)
    if entry is None or entry.manifest is None:
        return None
    m = entry.manifest
    return GoodBackup(key=entry.key, revision=m.end_revision, created=m.created)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _set_aside(data: Path, now: dt.datetime) -> str | None:
    """Move lost data out of etcd's way (keeping only the newest set aside); None if empty."""
    if not data.exists():
        return None
    if not any(data.iterdir()):
        data.rmdir()
        return None
    for older in data.parent.glob(f"{LOST_PREFIX}*"):
        shutil.rmtree(older, ignore_errors=True)
    aside = data.with_name(f"{LOST_PREFIX}{now.strftime('%Y%m%dT%H%M%SZ')}")
    data.rename(aside)
    return aside.name


def restore_newest(
    store: SnapStore, mount: Path, work: Path, decision: Decision, now: dt.datetime
) -> dict[str, Any]:
    """Restore ``decision.snapshot`` into ``mount``'s data directory."""
    assert decision.snapshot is not None
    db = work / "restore.db"
    revision = fetch_verified(store, decision.snapshot, db)
    part, data = mount / PART, mount / Path(ETCD_DATA_DIR).name
    restore_data_dir(
        db, part, RestoredFrom(snapshot=decision.snapshot, revision=revision, restored=now)
    )
    db.unlink(missing_ok=True)
    aside = _set_aside(data, now)
    part.rename(data)
    _fsync_dir(mount)
    log.warning("restored %s (revision %d) into %s", decision.snapshot, revision, data)
    return {"restoredRevision": revision, **({"setAside": aside} if aside else {})}


def check(
    store: SnapStore,
    *,
    shoot_uid: str,
    mount: Path,
    work: Path,
    auto_restore: bool,
    clock: Callable[[], dt.datetime] = utc_now,
) -> dict[str, Any]:
    """Observe, decide, act; raises DataRefused (after writing the result) on a refusal."""
    decision = decide(
        observe(mount / Path(ETCD_DATA_DIR).name),
        newest_good_backup(store, shoot_uid),
        auto_restore=auto_restore,
    )
    result = decision.to_dict()
    if decision.verdict is Verdict.REFUSE:
        log.error("not starting etcd: %s", decision.reason)
        emit(result)
        raise DataRefused(1)
    if decision.verdict is Verdict.RESTORE:
        log.warning("%s", decision.reason)
        result.update(restore_newest(store, mount, work, decision, clock()))
    else:
        log.info("starting etcd: %s", decision.reason)
    return result
