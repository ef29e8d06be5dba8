"""The data check's I/O on a real directory and a real local store: which snapshots are
this shoot's (its UID's) and what it does about them. An empty data directory is read
without etcdutl; a database's revision (etcdutl's answer) is given where one is needed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_garden.agent import etcd_data_check, result
from airflow_provider_garden.core.retention import snapshot_name
from airflow_provider_garden.snapstore.local import LocalStore
from airflow_provider_garden.snapstore.manifest import Manifest, write_manifest

CREATED = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
OWN = "aaaaaaaa-1111-4000-8000-000000000001"
FOREIGN = "bbbbbbbb-2222-4000-8000-000000000002"  # a deleted shoot of the same name


def _store(tmp_path: Path) -> LocalStore:
    root = tmp_path / "store"
    root.mkdir()
    return LocalStore(root=root, prefix="shoot--p--s")


def _snapshot(
    store: LocalStore,
    revision: int,
    *,
    uid: str | None,
    created: dt.datetime = CREATED,
    verified: bool = True,
) -> str:
    name = snapshot_name(0, revision, created, compressed=False)
    body = b"snapshot bytes"
    store.save(name, io.BytesIO(body))
    manifest = Manifest.for_snapshot(
        name, size=len(body), sha256="0" * 64, etcd_version="3.5.16", shoot_uid=uid
    )
    write_manifest(store, dataclasses.replace(manifest, verified=verified))
    return name


def _mount(tmp_path: Path, revision: int | None, monkeypatch: pytest.MonkeyPatch) -> Path:
    """etcd's volume; with ``revision``, a database etcdutl reports at that revision."""
    mount = tmp_path / "etcd"
    mount.mkdir()
    if revision is not None:
        db = mount / "data" / etcd_data_check.DATABASE
        db.parent.mkdir(parents=True)
        db.write_bytes(b"bbolt")

        def status(path: Path) -> dict[str, Any]:
            assert path == db
            return {"revision": revision}

        monkeypatch.setattr(etcd_data_check, "snapshot_status", status)
    return mount


@pytest.fixture
def termination(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "termination-log"
    monkeypatch.setattr(result, "TERMINATION_LOG", path)
    return path


@pytest.mark.parametrize("emptied", [False, True])
def test_lost_data_with_a_good_backup_refuses_and_says_why(
    tmp_path: Path, termination: Path, emptied: bool
) -> None:
    store = _store(tmp_path)
    _snapshot(store, 4242, uid=OWN)
    mount = tmp_path / "etcd"
    mount.mkdir()
    if emptied:  # the directory is there, its database is not
        (mount / "data" / "member" / "snap").mkdir(parents=True)
    with pytest.raises(SystemExit) as exited:
        etcd_data_check.check(store, shoot_uid=OWN, mount=mount, work=tmp_path, auto_restore=False)
    assert exited.value.code == 1
    written = json.loads(termination.read_text())
    assert written["code"] == "ERR_ETCD_DATA_LOST"
    assert "revision 4242" in written["reason"]
    assert (mount / "data").exists() is emptied  # nothing was touched


def test_a_new_shoot_without_good_backups_starts_empty(tmp_path: Path, termination: Path) -> None:
    store = _store(tmp_path)
    _snapshot(store, 4242, uid=OWN, verified=False)
    mount = tmp_path / "etcd"
    mount.mkdir()
    out = etcd_data_check.check(
        store, shoot_uid=OWN, mount=mount, work=tmp_path, auto_restore=False
    )
    assert out["verdict"] == "Start"
    assert not termination.exists()


@pytest.mark.parametrize("auto_restore", [False, True])
def test_a_new_shoot_starts_empty_beside_a_deleted_namesakes_kept_snapshots(
    tmp_path: Path, termination: Path, auto_restore: bool
) -> None:
    # the same prefix holds a deleted shoot's good snapshots and unmarked ones: neither
    # is this shoot's history, so its empty data are not "lost" and nothing is restored
    store = _store(tmp_path)
    _snapshot(store, 4242, uid=FOREIGN)
    _snapshot(store, 5000, uid=None, created=CREATED + HOUR)
    mount = tmp_path / "etcd"
    mount.mkdir()
    out = etcd_data_check.check(
        store, shoot_uid=OWN, mount=mount, work=tmp_path, auto_restore=auto_restore
    )
    assert out["verdict"] == "Start", out
    assert "snapshot" not in out
    assert not (mount / "data").exists()
    assert not termination.exists()


def test_a_newer_foreign_snapshot_does_not_make_own_data_older(
    tmp_path: Path, termination: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(tmp_path)
    own = _snapshot(store, 100, uid=OWN)
    _snapshot(store, 9000, uid=FOREIGN, created=CREATED + HOUR)
    mount = _mount(tmp_path, 150, monkeypatch)
    out = etcd_data_check.check(
        store, shoot_uid=OWN, mount=mount, work=tmp_path, auto_restore=False
    )
    assert (out["verdict"], out["snapshot"]) == ("Start", own), out
    assert not termination.exists()


def test_own_newer_snapshot_does_make_the_data_older(
    tmp_path: Path, termination: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the counterpart of the foreign case: the same data against this shoot's own newer
    # snapshot is a loss
    store = _store(tmp_path)
    _snapshot(store, 100, uid=OWN)
    newer = _snapshot(store, 9000, uid=OWN, created=CREATED + HOUR)
    _snapshot(store, 9999, uid=FOREIGN, created=CREATED + 2 * HOUR)
    mount = _mount(tmp_path, 150, monkeypatch)
    with pytest.raises(SystemExit):
        etcd_data_check.check(store, shoot_uid=OWN, mount=mount, work=tmp_path, auto_restore=False)
    written = json.loads(termination.read_text())
    assert written["snapshot"] == newer
    assert "revision 150, older than good backup" in written["reason"]


def test_newest_good_backup_is_the_shoots_own(tmp_path: Path) -> None:
    store = _store(tmp_path)
    own = _snapshot(store, 100, uid=OWN)
    _snapshot(store, 200, uid=OWN, created=CREATED + HOUR, verified=False)
    _snapshot(store, 300, uid=FOREIGN, created=CREATED + 2 * HOUR)
    _snapshot(store, 400, uid=None, created=CREATED + 3 * HOUR)
    found = etcd_data_check.newest_good_backup(store, OWN)
    assert found is not None
    assert (found.key, found.revision) == (own, 100)
    assert etcd_data_check.newest_good_backup(store, "cccccccc-3333-4000-8000-000000000003") is None
