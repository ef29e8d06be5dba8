from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import pytest

from airflow_provider_garden.core.retention import snapshot_name, unique_snapshot_name
from airflow_provider_garden.snapstore.local import LocalStore
from airflow_provider_garden.snapstore.manifest import (
    Compression,
    HashingReader,
    Manifest,
    ManifestError,
    VerificationError,
    digest,
    good_snapshots,
    list_snapshots,
    manifest_key,
    newest_good_of,
    read_manifest,
    verify,
    write_manifest,
)

T0 = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
DATA = b"etcd snapshot bytes " * 1000


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(root=tmp_path)


def name_at(minutes: int, *, compressed: bool = False) -> str:
    return snapshot_name(1, 100 + minutes, T0 + dt.timedelta(minutes=minutes), compressed)


def backup(store: LocalStore, snapshot: str, data: bytes = DATA) -> Manifest:
    """The order a backup verb follows: unverified manifest, object, verification."""
    manifest = Manifest.for_snapshot(
        snapshot, size=len(data), sha256=hashlib.sha256(data).hexdigest(), etcd_version="3.5.16"
    )
    write_manifest(store, manifest)
    store.save(snapshot, io.BytesIO(data))
    return verify(store, snapshot)


def test_for_snapshot_takes_revisions_compression_and_time_from_the_name() -> None:
    manifest = Manifest.for_snapshot(
        name_at(0, compressed=True), size=3, sha256="0" * 64, etcd_version="3.5.16"
    )
    assert (manifest.start_revision, manifest.end_revision) == (1, 100)
    assert manifest.compression is Compression.GZIP
    assert manifest.created == T0
    assert manifest.verified is False


def test_a_unique_name_s_manifest_keeps_its_microseconds_and_names_only_its_object(
    store: LocalStore,
) -> None:
    created = T0 + dt.timedelta(microseconds=123456)
    mine, other = (unique_snapshot_name(1, 100, created, False) for _ in range(2))
    manifest = backup(store, mine)
    assert manifest.created == created
    with store.fetch(manifest_key(mine)) as stream:
        assert json.load(stream)["created"] == "2026-11-30T12:00:00.123456Z"
    assert read_manifest(store, mine) == manifest
    backup(store, other, DATA + b"longer")  # same revision, same instant: its own key
    assert [e.key for e in good_snapshots(store)] == sorted([mine, other])
    assert read_manifest(store, mine).size == len(DATA)


def test_json_round_trip_is_camel_case_and_lossless() -> None:
    manifest = dataclasses.replace(
        Manifest.for_snapshot(
            name_at(5),
            size=7,
            sha256="a" * 64,
            etcd_version="3.5.16",
            shoot_uid="aaaaaaaa-0000-4000-8000-000000000001",
        ),
        verified=True,
    )
    data = manifest.to_dict()
    assert data == {
        "snapshot": "Backup-1796040300/Full-00000001-00000105-1796040300",
        "startRevision": 1,
        "endRevision": 105,
        "size": 7,
        "sha256": "a" * 64,
        "etcdVersion": "3.5.16",
        "compression": "none",
        "created": "2026-11-30T12:05:00Z",
        "verified": True,
        "shootUID": "aaaaaaaa-0000-4000-8000-000000000001",
    }
    assert Manifest.from_dict(json.loads(json.dumps(data))) == manifest


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"endRevision": 99}, "revisions disagree"),
        ({"compression": "gzip"}, "compression gzip disagrees"),
        ({"compression": "zstd"}, "'zstd' is not a valid Compression"),
        ({"created": "2026-11-30T13:00:00Z"}, "disagrees with the name"),
        ({"created": "2026-11-30T12:00:00"}, "no time zone"),
        ({"sha256": "ABC"}, "64 lowercase hex"),
        ({"size": -1}, "size must be >= 0"),
        ({"size": True}, "'size' must be an integer"),
        ({"verified": "yes"}, "'verified' must be true or false"),
        ({"etcdVersion": ""}, "etcd_version must not be empty"),
        ({"snapshot": "../../etc/passwd"}, "is not a snapshot name"),
    ],
)
def test_malformed_manifests_are_rejected_naming_the_field(
    change: dict[str, object], message: str
) -> None:
    good = Manifest.for_snapshot(name_at(0), size=1, sha256="b" * 64, etcd_version="3.5.16")
    with pytest.raises(ManifestError, match=message):
        Manifest.from_dict({**good.to_dict(), **change})


def test_manifest_is_stored_beside_its_snapshot(store: LocalStore, tmp_path: Path) -> None:
    manifest = backup(store, name_at(0))
    assert manifest_key(manifest.snapshot) == manifest.snapshot + ".manifest.json"
    on_disk = json.loads((tmp_path / manifest_key(manifest.snapshot)).read_text())
    assert on_disk["verified"] is True
    assert read_manifest(store, manifest.snapshot) == manifest


def test_a_manifest_naming_another_snapshot_is_refused(store: LocalStore) -> None:
    other = Manifest.for_snapshot(name_at(1), size=1, sha256="c" * 64, etcd_version="3.5.16")
    data = json.dumps(other.to_dict()).encode()
    store.save(manifest_key(name_at(0)), io.BytesIO(data))
    with pytest.raises(ManifestError, match="names"):
        read_manifest(store, name_at(0))


def test_hashing_reader_digests_what_passes_through() -> None:
    reader = HashingReader(io.BytesIO(DATA))
    assert reader.read(10) + reader.read() == DATA
    assert (reader.sha256, reader.size) == (hashlib.sha256(DATA).hexdigest(), len(DATA))
    assert digest(io.BytesIO(DATA)) == (hashlib.sha256(DATA).hexdigest(), len(DATA))


def test_a_verified_snapshot_is_good(store: LocalStore) -> None:
    backup(store, name_at(0))
    [entry] = list_snapshots(store)
    assert entry.good, entry.problem
    assert entry.object is not None
    assert entry.object.size == len(DATA)
    assert entry.manifest is not None
    assert entry.manifest.verified
    assert [e.key for e in good_snapshots(store)] == [name_at(0)]


def test_corruption_in_place_is_caught_by_verify_and_recorded(
    store: LocalStore, tmp_path: Path
) -> None:
    snapshot = name_at(0)
    backup(store, snapshot)
    path = tmp_path / snapshot
    corrupted = bytearray(path.read_bytes())
    corrupted[len(corrupted) // 2] ^= 0xFF
    path.write_bytes(bytes(corrupted))  # same size: only the hash can tell
    with pytest.raises(VerificationError, match=r"sha256 [0-9a-f]+ differs"):
        verify(store, snapshot)
    assert read_manifest(store, snapshot).verified is False
    assert good_snapshots(store) == []
    assert list_snapshots(store)[0].problem == "not verified"


def test_truncation_is_not_good_even_before_verify(store: LocalStore, tmp_path: Path) -> None:
    snapshot = name_at(0)
    backup(store, snapshot)
    (tmp_path / snapshot).write_bytes(DATA[:100])
    [entry] = list_snapshots(store)
    assert entry.problem == f"the object has 100 bytes, its manifest says {len(DATA)}"
    with pytest.raises(VerificationError, match="100 bytes"):
        verify(store, snapshot)


def test_a_backup_killed_before_verification_is_never_good(store: LocalStore) -> None:
    snapshot = name_at(0)
    manifest = Manifest.for_snapshot(
        snapshot, size=len(DATA), sha256=hashlib.sha256(DATA).hexdigest(), etcd_version="3.5.16"
    )
    write_manifest(store, manifest)
    [entry] = list_snapshots(store)
    assert (entry.object, entry.problem) == (None, "not verified")
    store.save(snapshot, io.BytesIO(DATA))  # uploaded, but killed before verify
    assert list_snapshots(store)[0].problem == "not verified"
    assert good_snapshots(store) == []


def test_verify_of_a_missing_object_records_the_failure(store: LocalStore) -> None:
    snapshot = name_at(0)
    backup(store, snapshot)
    store.delete(snapshot)
    with pytest.raises(VerificationError, match="missing"):
        verify(store, snapshot)
    assert read_manifest(store, snapshot).verified is False


def test_objects_without_a_manifest_and_unreadable_manifests_are_not_good(
    store: LocalStore,
) -> None:
    store.save(name_at(0), io.BytesIO(DATA))
    store.save(manifest_key(name_at(1)), io.BytesIO(b"{not json"))
    store.save(name_at(1), io.BytesIO(DATA))
    store.save("Backup-1/unrelated.txt", io.BytesIO(b"ignored"))
    first, second = list_snapshots(store)
    assert (first.key, first.problem) == (name_at(0), "no manifest")
    assert second.key == name_at(1)
    assert str(second.problem).startswith("unreadable manifest: manifest of")


def test_list_is_oldest_first_and_good_filters(store: LocalStore) -> None:
    for minutes in (30, 0, 10):
        backup(store, name_at(minutes, compressed=minutes == 10))
    store.save(name_at(20), io.BytesIO(DATA))
    assert [e.key for e in list_snapshots(store)] == [
        name_at(0),
        name_at(10, compressed=True),
        name_at(20),
        name_at(30),
    ]
    assert [e.name.created for e in good_snapshots(store)] == [
        T0,
        T0 + dt.timedelta(minutes=10),
        T0 + dt.timedelta(minutes=30),
    ]


@pytest.mark.parametrize("key", ["created", "compression"])
def test_a_converted_field_of_the_wrong_json_type_is_named_like_any_other(key: str) -> None:
    good = Manifest.for_snapshot(name_at(0), size=1, sha256="b" * 64, etcd_version="3.5.16")
    with pytest.raises(ManifestError, match=rf"^manifest field '{key}' must be a string$"):
        Manifest.from_dict({**good.to_dict(), key: 5})


UID_A = "aaaaaaaa-0000-4000-8000-000000000001"
UID_B = "bbbbbbbb-0000-4000-8000-000000000002"


def backup_of(store: LocalStore, snapshot: str, uid: str | None) -> Manifest:
    manifest = Manifest.for_snapshot(
        snapshot,
        size=len(DATA),
        sha256=hashlib.sha256(DATA).hexdigest(),
        etcd_version="3.5.16",
        shoot_uid=uid,
    )
    write_manifest(store, manifest)
    store.save(snapshot, io.BytesIO(DATA))
    return verify(store, snapshot)


def test_the_shoot_uid_round_trips_and_old_manifests_read_as_unmarked(store: LocalStore) -> None:
    assert backup_of(store, name_at(0), UID_A).shoot_uid == UID_A
    stored = json.loads(store.fetch(manifest_key(name_at(0))).read())
    assert stored["shootUID"] == UID_A
    del stored["shootUID"]  # as written before manifests carried the UID
    store.save(manifest_key(name_at(0)), io.BytesIO(json.dumps(stored).encode()))
    assert read_manifest(store, name_at(0)).shoot_uid is None


@pytest.mark.parametrize("uid", ["", "ABC", "aaaaaaaa-0000-4000-8000-00000000000"])
def test_a_malformed_shoot_uid_is_refused(uid: str) -> None:
    with pytest.raises(ManifestError, match="is not a UID"):
        Manifest.for_snapshot(
            name_at(0), size=1, sha256="0" * 64, etcd_version="3.5", shoot_uid=uid
        )


def test_newest_good_of_takes_only_the_uids_own_snapshots(store: LocalStore) -> None:
    backup_of(store, name_at(0), UID_A)
    backup_of(store, name_at(1), UID_B)  # newer, but another shoot's
    backup_of(store, name_at(2), None)  # newer still, unmarked
    chosen = newest_good_of(store, UID_A)
    assert chosen is not None
    assert chosen.key == name_at(0)
    chosen = newest_good_of(store, UID_B)
    assert chosen is not None
    assert chosen.key == name_at(1)
    assert newest_good_of(store, "cccccccc-0000-4000-8000-000000000003") is None
