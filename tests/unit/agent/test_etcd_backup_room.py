"""A backup frees space through retention before it judges the local store's room."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

import pytest

from airflow_provider_garden.agent import etcd_backup
from airflow_provider_garden.agent.etcd_backup import EtcdEndpoint, backup
from airflow_provider_garden.core.error_codes import Cause, KnownCause
from airflow_provider_garden.core.retention import snapshot_name
from airflow_provider_garden.core.shoot_spec import RetentionPolicy
from airflow_provider_garden.core.store_space import MIB
from airflow_provider_garden.snapstore.local import LocalStore
from airflow_provider_garden.snapstore.manifest import (
    Manifest,
    list_snapshots,
    verify,
    write_manifest,
)

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
MINE = "aaaaaaaa-0000-4000-8000-000000000001"
OTHER = "bbbbbbbb-0000-4000-8000-000000000002"
ENDPOINT = EtcdEndpoint(url="https://etcd:2379", tls_dir=Path("/nonexistent"))


class Snapshotted(Exception):
    """The backup went on to take the snapshot: the room check let it."""


def put(store: LocalStore, days_ago: int, uid: str, size: int) -> str:
    created = NOW - dt.timedelta(days=days_ago)
    name = snapshot_name(1, 100 - days_ago, created, False)
    data = b"\0" * size
    sha = hashlib.sha256(data).hexdigest()
    write_manifest(
        store,
        Manifest.for_snapshot(name, size=size, sha256=sha, etcd_version="3.5", shoot_uid=uid),
    )
    store.save(name, io.BytesIO(data))
    verify(store, name)
    return name


@pytest.fixture
def etcd(monkeypatch: pytest.MonkeyPatch) -> None:
    """etcd reports a 1 MiB database; taking the snapshot stops the test there."""
    monkeypatch.setattr(etcd_backup, "database_size", lambda endpoint: MIB)

    def take(endpoint: EtcdEndpoint, work: Path) -> None:
        raise Snapshotted

    monkeypatch.setattr(etcd_backup, "take_snapshot", take)


def run(store: LocalStore, capacity: int, tmp_path: Path) -> None:
    backup(
        ENDPOINT,
        store,
        work=tmp_path,
        compress=True,
        policy=RetentionPolicy.EXPONENTIAL,
        keep_last=7,
        shoot_uid=MINE,
        store_capacity=capacity,
        now=NOW,
    )


def test_retention_frees_the_store_before_its_room_is_judged(tmp_path: Path, etcd: None) -> None:
    (tmp_path / "store").mkdir()
    store = LocalStore(root=tmp_path / "store")
    newest = put(store, 0, MINE, 4 * MIB)
    old = [put(store, days, MINE, 16 * MIB) for days in (40, 41)]
    capacity = store.space(1 << 40).used + MIB  # 1 MiB free: no room for 1 MiB + headroom

    with pytest.raises(Snapshotted):
        run(store, capacity, tmp_path)

    left = [e.key for e in list_snapshots(store)]
    assert left == [newest]  # the old ones went, the newest good one stayed
    assert all(k not in left for k in old)


def test_a_store_retention_cannot_free_fails_naming_the_store_and_sizes(
    tmp_path: Path, etcd: None
) -> None:
    root = tmp_path / "store"
    root.mkdir()
    store = LocalStore(root=root, prefix="shoot--p--a")
    newest = put(store, 0, MINE, 4 * MIB)
    foreign = [put(store, days, OTHER, 8 * MIB) for days in (40, 41)]  # another UID's: kept
    capacity = store.space(1 << 40).used + MIB

    with pytest.raises(KnownCause) as full:
        run(store, capacity, tmp_path)

    assert full.value.cause is Cause.SNAPSTORE_FULL
    message = str(full.value)
    assert f"snapshot store local {root}/shoot--p--a has no room" in message
    assert (
        "needs 17.1 MiB (etcd database 1Mi + headroom), free 1Mi (20.0 MiB of 21.0 MiB" in message
    )
    assert [e.key for e in list_snapshots(store)] == [*reversed(foreign), newest]


def test_an_s3_like_store_is_not_judged_for_room(tmp_path: Path, etcd: None) -> None:
    """No capacity (S3, or a local store without one): the backup goes on to the snapshot."""
    root = tmp_path / "store"
    root.mkdir()
    with pytest.raises(Snapshotted):
        backup(
            ENDPOINT,
            LocalStore(root=root),
            work=tmp_path,
            compress=True,
            policy=None,
            keep_last=7,
            shoot_uid=MINE,
            store_capacity=None,
            now=NOW,
        )
