"""The data check's I/O on a real directory and a real local store (no etcd database
needed: an empty data directory is read without etcdutl)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
from pathlib import Path

import pytest

from airflow_provider_garden.agent import etcd_data_check, result
from airflow_provider_garden.core.retention import snapshot_name
from airflow_provider_garden.snapstore.local import LocalStore
from airflow_provider_garden.snapstore.manifest import Manifest, write_manifest

CREATED = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


def _store(tmp_path: Path, *, verified: bool) -> LocalStore:
    root = tmp_path / "store"
    root.mkdir()
    store = LocalStore(root=root, prefix="shoot--p--s")
    name = snapshot_name(0, 4242, CREATED, compressed=False)
    body = b"snapshot bytes"
    store.save(name, io.BytesIO(body))
    manifest = Manifest.for_snapshot(name, size=len(body), sha256="0" * 64, etcd_version="3.5.16")
    write_manifest(store, manifest if not verified else _verified(manifest))
    return store


def _verified(manifest: Manifest) -> Manifest:
    return dataclasses.replace(manifest, verified=True)


@pytest.fixture
def termination(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "termination-log"
    monkeypatch.setattr(result, "TERMINATION_LOG", path)
    return path


@pytest.mark.parametrize("emptied", [False, True])
def test_lost_data_with_a_good_backup_refuses_and_says_why(
    tmp_path: Path, termination: Path, emptied: bool
) -> None:
    mount = tmp_path / "etcd"
    mount.mkdir()
    if emptied:  # the directory is there, its database is not
        (mount / "data" / "member" / "snap").mkdir(parents=True)
    with pytest.raises(SystemExit) as exited:
        etcd_data_check.check(
            _store(tmp_path, verified=True), mount=mount, work=tmp_path, auto_restore=False
        )
    assert exited.value.code == 1
    written = json.loads(termination.read_text())
    assert written["code"] == "ERR_ETCD_DATA_LOST"
    assert "revision 4242" in written["reason"]
    assert (mount / "data").exists() is emptied  # nothing was touched


def test_a_new_shoot_without_good_backups_starts_empty(tmp_path: Path, termination: Path) -> None:
    mount = tmp_path / "etcd"
    mount.mkdir()
    out = etcd_data_check.check(
        _store(tmp_path, verified=False), mount=mount, work=tmp_path, auto_restore=False
    )
    assert out["verdict"] == "Start"
    assert not termination.exists()
