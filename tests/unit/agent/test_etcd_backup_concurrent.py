"""Two backups of one shoot at the same revision in the same second, on a real local store.

Backups take no Lease, so two DagRuns (or a manual run beside the scheduled one) may
back a shoot up at once. The interleaving below is the worst one, made deterministic:
the second backup runs whole between the first's manifest and the first's object.
With one key per (revision, second) the first then stores its object under the
second's verified manifest and fails verification (and the store holds a snapshot
whose size disagrees with its manifest); with a key of its own each stays whole.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_garden.agent import etcd_backup
from airflow_provider_garden.agent.etcd_backup import EtcdEndpoint, backup
from airflow_provider_garden.snapstore.local import LocalStore
from airflow_provider_garden.snapstore.manifest import MANIFEST_SUFFIX, list_snapshots, verify
from airflow_provider_garden.snapstore.protocol import ObjectInfo, ReadableStream

UID = "aaaaaaaa-0000-4000-8000-000000000001"
NOW = dt.datetime(2026, 12, 7, 1, 2, 3, 456789, tzinfo=dt.UTC)
REVISION = 4242
ENDPOINT = EtcdEndpoint(url="https://etcd:2379", tls_dir=Path("/nonexistent"))


def fake_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    """etcdctl's snapshot of one revision; each backup's bytes differ (as two snapshots of
    one revision do: etcd's file carries more than the keys), one byte in length too."""

    def take(endpoint: EtcdEndpoint, work: Path) -> tuple[Path, dict[str, Any]]:
        db = work / "snapshot.db"
        db.write_bytes(b"x" * (35344 + len(work.name)))
        return db, {"revision": REVISION, "totalKey": 3, "version": "3.5.17"}

    monkeypatch.setattr(etcd_backup, "take_snapshot", take)


class InterleavingStore(LocalStore):
    """Runs ``other`` once, just before the first snapshot object (not a manifest) is saved."""

    other: Any = None

    def save(self, key: str, stream: ReadableStream) -> ObjectInfo:
        if self.other is not None and not key.endswith(MANIFEST_SUFFIX):
            other, self.other = self.other, None
            other()
        return super().save(key, stream)


def test_two_backups_in_one_second_each_keep_a_whole_verified_snapshot(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_snapshot(monkeypatch)
    (tmp_path / "store").mkdir()
    store = InterleavingStore(root=tmp_path / "store")
    works = [tmp_path / "a", tmp_path / "bb"]  # names of different length: different sizes
    for work in works:
        work.mkdir()

    def run(work: Path) -> dict[str, Any]:
        return backup(
            ENDPOINT,
            store,
            work=work,
            compress=False,
            policy=None,
            keep_last=1,
            shoot_uid=UID,
            now=NOW,
        )

    results: list[dict[str, Any]] = []
    store.other = lambda: results.append(run(works[1]))
    results.insert(0, run(works[0]))

    first, second = results
    assert first["snapshot"] != second["snapshot"], "two backups wrote one key"
    assert (first["size"], second["size"]) == (35345, 35346)
    entries = list_snapshots(store)
    assert sorted(e.key for e in entries) == sorted([first["snapshot"], second["snapshot"]])
    for entry in entries:
        assert entry.good, f"{entry.key}: {entry.problem}"
        assert verify(store, entry.key).size == entry.object.size  # type: ignore[union-attr]
