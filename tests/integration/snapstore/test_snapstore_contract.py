"""The same contract for every backend; each assertion looks at what the store holds."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from snapstore_backends import Backend, Interrupted, MiB, PatternStream

from airflow_provider_garden.core.retention import snapshot_name
from airflow_provider_garden.snapstore.factory import StoreKind
from airflow_provider_garden.snapstore.manifest import (
    HashingReader,
    Manifest,
    VerificationError,
    digest,
    good_snapshots,
    list_snapshots,
    read_manifest,
    verify,
    write_manifest,
)
from airflow_provider_garden.snapstore.protocol import InvalidKeyError, ObjectNotFoundError

BIG = 80 * MiB + 12345  # above 64 MiB: several multipart parts and a short last one
SNAPSHOT = snapshot_name(1, 4242, dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC), compressed=True)


def test_round_trip_of_a_large_stream(backend: Backend) -> None:
    store = backend.store
    sent = HashingReader(PatternStream(BIG))
    info = store.save(SNAPSHOT, sent)
    assert (info.key, info.size, sent.size) == (SNAPSHOT, BIG, BIG)
    assert [(i.key, i.size) for i in store.list()] == [(SNAPSHOT, BIG)]
    assert backend.object_path(SNAPSHOT).stat().st_size == BIG
    with store.fetch(SNAPSHOT) as stream:
        assert digest(stream) == (sent.sha256, BIG)
    store.delete(SNAPSHOT)
    assert store.list() == []
    assert not backend.object_path(SNAPSHOT).exists()
    with pytest.raises(ObjectNotFoundError):
        store.fetch(SNAPSHOT)


@pytest.mark.parametrize("size", [5 * MiB, 30 * MiB + 7])
def test_short_reads_are_stored_whole(backend: Backend, size: int) -> None:
    """Pipes and sockets answer reads short; a short read is not the end of the stream."""
    backend.store.save(SNAPSHOT, PatternStream(size, max_read=100_000))
    assert backend.object_path(SNAPSHOT).stat().st_size == size
    with backend.store.fetch(SNAPSHOT) as stream:
        assert digest(stream) == digest(PatternStream(size))


def backup(backend: Backend, stream: PatternStream) -> Manifest:
    """A backup as the agent runs it: unverified manifest, upload, verification."""
    sha256, size = digest(PatternStream(stream.size))  # same seed: the bytes that will be sent
    manifest = Manifest.for_snapshot(SNAPSHOT, size=size, sha256=sha256, etcd_version="3.5.16")
    write_manifest(backend.store, manifest)
    backend.store.save(SNAPSHOT, stream)
    return verify(backend.store, SNAPSHOT)


def test_a_verified_backup_is_good(backend: Backend) -> None:
    manifest = backup(backend, PatternStream(BIG))
    assert manifest.verified
    assert [e.key for e in good_snapshots(backend.store)] == [SNAPSHOT]


def test_corruption_in_storage_is_detected_and_never_listed_as_good(backend: Backend) -> None:
    backup(backend, PatternStream(BIG))
    path = backend.object_path(SNAPSHOT)
    with path.open("r+b") as raw:  # change bytes behind the store's back, keeping the size
        raw.seek(BIG // 2)
        byte = raw.read(1)
        raw.seek(BIG // 2)
        raw.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(VerificationError, match="sha256"):
        verify(backend.store, SNAPSHOT)
    assert read_manifest(backend.store, SNAPSHOT).verified is False
    assert good_snapshots(backend.store) == []
    [entry] = list_snapshots(backend.store)
    assert entry.problem == "not verified"


def test_an_interrupted_save_leaves_nothing_good(backend: Backend) -> None:
    with pytest.raises(Interrupted):
        backup(backend, PatternStream(BIG, break_at=40 * MiB))
    assert [i.key for i in backend.store.list()] == [SNAPSHOT + ".manifest.json"]
    assert not backend.object_path(SNAPSHOT).exists()
    [entry] = list_snapshots(backend.store)
    assert (entry.object, entry.problem) == (None, "not verified")
    assert good_snapshots(backend.store) == []
    if backend.kind is StoreKind.S3:
        uploads = backend.s3.list_multipart_uploads(Bucket=backend.bucket)
        assert uploads.get("Uploads", []) == [], "the multipart upload was aborted"


# A backup process killed mid-upload: it saves a stream that stalls after 20 MiB.
KILLED_BACKUP = """
import json, sys, time
from pathlib import Path
from airflow_provider_garden.snapstore.factory import open_store

class Stalls:
    sent = 0
    def read(self, size=-1, /):
        if self.sent >= 20 << 20:
            print("stalled", flush=True)
            time.sleep(600)
        n = 1 << 20 if size < 0 else min(size, 1 << 20)
        self.sent += n
        return bytes(n)

args = json.loads(sys.argv[1])
paths = {k: Path(args.pop(k)) for k in ("root", "secret_dir") if k in args}
open_store(args.pop("kind"), **paths, **args).save(sys.argv[2], Stalls())
"""


def upload_in_progress(backend: Backend) -> bool:
    if backend.kind is StoreKind.S3:
        return bool(backend.s3.list_multipart_uploads(Bucket=backend.bucket).get("Uploads"))
    return any(backend.object_path(SNAPSHOT).parent.glob(".*.tmp"))


def test_a_backup_killed_mid_upload_leaves_nothing_good(backend: Backend) -> None:
    manifest = Manifest.for_snapshot(SNAPSHOT, size=BIG, sha256="0" * 64, etcd_version="3.5.16")
    write_manifest(backend.store, manifest)
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_BACKUP, json.dumps(backend.open_args), SNAPSHOT],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "stalled"
        deadline = time.monotonic() + 30
        while not upload_in_progress(backend) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert upload_in_progress(backend)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert [i.key for i in backend.store.list()] == [SNAPSHOT + ".manifest.json"]
    [entry] = list_snapshots(backend.store)
    assert (entry.object, entry.problem) == (None, "not verified")
    assert good_snapshots(backend.store) == []
    # Retention deletes a snapshot never verified; that also clears what the kill left here.
    backend.store.delete(SNAPSHOT)
    if backend.kind is StoreKind.LOCAL:
        assert not upload_in_progress(backend)


def test_an_interrupted_overwrite_keeps_the_previous_object(backend: Backend) -> None:
    backend.store.save(SNAPSHOT, io.BytesIO(b"previous"))
    with pytest.raises(Interrupted):
        backend.store.save(SNAPSHOT, PatternStream(BIG, break_at=20 * MiB))
    with backend.store.fetch(SNAPSHOT) as stream:
        assert stream.read() == b"previous"


def test_list_is_a_sorted_string_prefix(backend: Backend) -> None:
    for key in ["Backup-20/b", "Backup-100/a", "Backup-2/a", "other/a"]:
        backend.store.save(key, io.BytesIO(key.encode()))
    assert [i.key for i in backend.store.list("Backup-2")] == ["Backup-2/a", "Backup-20/b"]
    assert [i.key for i in backend.store.list("Backup-2/")] == ["Backup-2/a"]
    assert [i.key for i in backend.store.list()] == [
        "Backup-100/a",
        "Backup-2/a",
        "Backup-20/b",
        "other/a",
    ]
    assert all(i.modified.tzinfo is not None for i in backend.store.list())


def test_delete_of_a_missing_key_is_not_an_error(backend: Backend) -> None:
    backend.store.delete("Backup-1/never-saved")


@pytest.mark.parametrize("key", ["../../escape", "/etc/passwd", "Backup-1//x", "Backup-1/../x"])
def test_path_traversal_is_rejected(backend: Backend, key: str) -> None:
    store = backend.store
    with pytest.raises(InvalidKeyError):
        store.save(key, io.BytesIO(b"x"))
    with pytest.raises(InvalidKeyError):
        store.fetch(key)
    with pytest.raises(InvalidKeyError):
        store.delete(key)
    with pytest.raises(InvalidKeyError):
        store.list("../")
    assert store.list() == []
    if backend.kind is StoreKind.S3:
        assert backend.s3.list_objects_v2(Bucket=backend.bucket).get("Contents", []) == []
