"""Retention on a real local store holding snapshots of two shoots of one name."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

from airflow_provider_garden.agent.etcd_backup import apply_retention, drop_snapshots_of
from airflow_provider_garden.core.retention import snapshot_name
from airflow_provider_garden.core.shoot_spec import RetentionPolicy
from airflow_provider_garden.snapstore.local import LocalStore
from airflow_provider_garden.snapstore.manifest import (
    Manifest,
    list_snapshots,
    verify,
    write_manifest,
)

T0 = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
DATA = b"snapshot" * 100
MINE = "aaaaaaaa-0000-4000-8000-000000000001"
DELETED = "bbbbbbbb-0000-4000-8000-000000000002"


def put(store: LocalStore, minutes: int, uid: str | None) -> str:
    name = snapshot_name(1, 100 + minutes, T0 + dt.timedelta(minutes=minutes), False)
    sha = hashlib.sha256(DATA).hexdigest()
    write_manifest(
        store,
        Manifest.for_snapshot(name, size=len(DATA), sha256=sha, etcd_version="3.5", shoot_uid=uid),
    )
    store.save(name, io.BytesIO(DATA))
    verify(store, name)
    return name


def test_retention_deletes_only_the_shoots_own_snapshots(tmp_path: Path) -> None:
    store = LocalStore(root=tmp_path)
    legacy = put(store, 0, None)
    foreign = [put(store, m, DELETED) for m in (1, 2, 3)]
    mine = [put(store, m, MINE) for m in (4, 5, 6)]

    deleted = apply_retention(
        store,
        RetentionPolicy.LIMIT_BASED,
        keep_last=1,
        shoot_uid=MINE,
        now=T0 + dt.timedelta(hours=1),
    )

    assert deleted == mine[:2]
    assert [e.key for e in list_snapshots(store)] == [legacy, *foreign, mine[2]]


def test_dropping_a_deleted_shoots_snapshots_leaves_every_other_key(tmp_path: Path) -> None:
    store = LocalStore(root=tmp_path)
    legacy = put(store, 0, None)
    deleted = [put(store, m, DELETED) for m in (1, 2)]
    mine = put(store, 3, MINE)

    assert drop_snapshots_of(store, DELETED) == deleted

    assert [e.key for e in list_snapshots(store)] == [legacy, mine]
    assert not any(i.key.startswith(tuple(deleted)) for i in store.list())  # manifests too
