"""The JSON manifest stored beside each snapshot, and which snapshots are "good".

A snapshot ``Backup-<ts>/Full-...`` has its manifest at ``<snapshot>.manifest.json``.
The intended order of a backup: check the snapshot itself (``etcdutl snapshot
status``), write its manifest with ``verified=False``, save the snapshot, then
:func:`verify` it, which re-reads the stored bytes and records the result. A backup
killed at any point therefore leaves at most an unverified record, which retention
expires. A snapshot is *good* when its manifest says verified and the object exists
with the manifest's size; :func:`verify` again before restoring, because bytes
changed in place keep their size.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from airflow_provider_garden.core.fields import Field, FieldTable, Reader, Record
from airflow_provider_garden.core.retention import SnapshotName, parse_snapshot_name
from airflow_provider_garden.core.snapshot_owner import OwnedSnapshot, newest_good
from airflow_provider_garden.snapstore.protocol import (
    ObjectInfo,
    ObjectNotFoundError,
    ReadableStream,
    SnapStore,
    SnapStoreError,
)

MANIFEST_SUFFIX = ".manifest.json"
MAX_MANIFEST_BYTES = 64 * 1024
HASH_CHUNK = 1 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}", re.ASCII)
_UID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII)
_KIND_NAMES = {int: "an integer", str: "a string", bool: "true or false"}


class ManifestError(SnapStoreError, ValueError):
    """A manifest is malformed or disagrees with its snapshot's name."""


class VerificationError(SnapStoreError):
    """The stored snapshot does not match its manifest (or is missing)."""


class Compression(StrEnum):
    NONE = "none"
    GZIP = "gzip"


def _json(kind: type) -> Reader:
    """A field that must be there with the JSON type ``kind``."""

    def read(data: Mapping[str, Any], key: str, path: str) -> Any:
        value = data.get(key)
        # bool is an int in Python; a JSON true is no revision.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ManifestError(f"manifest field {key!r} must be {_KIND_NAMES[kind]}")
        return value

    return read


def _optional_text(data: Mapping[str, Any], key: str, path: str) -> str | None:
    """Absent (or null) in manifests written before the field existed."""
    return None if data.get(key) is None else _json(str)(data, key, path)  # type: ignore[no-any-return]


def _parsed(parse: Callable[[str], Any]) -> Reader:
    """A text field converted by ``parse``; its ValueError names the manifest."""

    def read(data: Mapping[str, Any], key: str, path: str) -> Any:
        text = _json(str)(data, key, path)
        try:
            return parse(text)
        except ValueError as error:
            raise ManifestError(f"{path}: {error}") from None

    return read


def _aware_time(text: str) -> dt.datetime:
    at = dt.datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError("created has no time zone")
    return at


def _time_text(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, kw_only=True)
class Manifest(Record):
    # to_dict is JSON-ready, camelCase like the Shoot status, fit for XCom (it holds no
    # secret); from_dict wants every field with its JSON type.
    FIELDS = FieldTable(
        Field("snapshot", _json(str)),
        Field("start_revision", _json(int)),
        Field("end_revision", _json(int)),
        Field("size", _json(int)),
        Field("sha256", _json(str)),
        Field("etcd_version", _json(str)),
        Field("compression", _parsed(Compression)),
        Field("created", _parsed(_aware_time), _time_text),
        Field("verified", _json(bool)),
        Field("shoot_uid", _optional_text, key="shootUID"),
    )
    PATH = "manifest"

    snapshot: str
    start_revision: int
    end_revision: int
    size: int  # bytes of the stored object (compressed, if compressed)
    sha256: str  # of the stored object
    etcd_version: str
    compression: Compression
    created: dt.datetime
    verified: bool = False
    # UID of the shoot that wrote the snapshot (core/snapshot_owner.py); None in
    # manifests written before it was recorded.
    shoot_uid: str | None = None

    def __post_init__(self) -> None:
        try:
            name = parse_snapshot_name(self.snapshot)
        except ValueError as error:
            raise ManifestError(str(error)) from None
        if (self.start_revision, self.end_revision) != (name.start_revision, name.end_revision):
            raise ManifestError(f"{self.snapshot}: revisions disagree with the snapshot name")
        if self.compression != _compression_of(name):
            raise ManifestError(f"{self.snapshot}: compression {self.compression} disagrees")
        if self.created != name.created:
            raise ManifestError(f"{self.snapshot}: created {self.created} disagrees with the name")
        if self.size < 0:
            raise ManifestError(f"{self.snapshot}: size must be >= 0, got {self.size}")
        if not _SHA256.fullmatch(self.sha256):
            raise ManifestError(f"{self.snapshot}: sha256 must be 64 lowercase hex digits")
        if not self.etcd_version:
            raise ManifestError(f"{self.snapshot}: etcd_version must not be empty")
        if self.shoot_uid is not None and not _UID.fullmatch(self.shoot_uid):
            raise ManifestError(f"{self.snapshot}: shootUID {self.shoot_uid!r} is not a UID")

    @classmethod
    def for_snapshot(
        cls,
        snapshot: str,
        *,
        size: int,
        sha256: str,
        etcd_version: str,
        shoot_uid: str | None = None,
    ) -> Manifest:
        """An unverified manifest whose revisions, compression and time come from the name."""
        name = parse_snapshot_name(snapshot)
        return cls(
            snapshot=snapshot,
            start_revision=name.start_revision,
            end_revision=name.end_revision,
            size=size,
            sha256=sha256,
            etcd_version=etcd_version,
            compression=_compression_of(name),
            created=name.created,
            shoot_uid=shoot_uid,
        )

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        if data["shootUID"] is None:  # unmarked: written as it was before UIDs
            del data["shootUID"]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str | None = None) -> Manifest:
        return super().from_dict(data, path or f"manifest of {data.get('snapshot')!r}")


def manifest_key(snapshot: str) -> str:
    return snapshot + MANIFEST_SUFFIX


def write_manifest(store: SnapStore, manifest: Manifest) -> ObjectInfo:
    data = json.dumps(manifest.to_dict(), indent=2, sort_keys=True).encode() + b"\n"
    return store.save(manifest_key(manifest.snapshot), io.BytesIO(data))


def read_manifest(store: SnapStore, snapshot: str) -> Manifest:
    with store.fetch(manifest_key(snapshot)) as stream:
        data = stream.read(MAX_MANIFEST_BYTES + 1)
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"manifest of {snapshot!r} is larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        parsed = json.loads(data)
    except ValueError as error:
        raise ManifestError(f"manifest of {snapshot!r} is not JSON: {error}") from None
    if not isinstance(parsed, dict):
        raise ManifestError(f"manifest of {snapshot!r} is not a JSON object")
    manifest = Manifest.from_dict(parsed)
    if manifest.snapshot != snapshot:
        raise ManifestError(f"manifest of {snapshot!r} names {manifest.snapshot!r}")
    return manifest


class HashingReader:
    """Passes a stream through while counting its bytes and hashing them with sha256,
    so a snapshot's digest is computed on the way into the store."""

    def __init__(self, stream: ReadableStream) -> None:
        self._stream = stream
        self._hash = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        self._hash.update(data)
        self.size += len(data)
        return data

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


def digest(stream: ReadableStream) -> tuple[str, int]:
    """sha256 (hex) and size of a whole stream, read in chunks."""
    reader = HashingReader(stream)
    while reader.read(HASH_CHUNK):
        pass
    return reader.sha256, reader.size


def verify(store: SnapStore, snapshot: str) -> Manifest:
    """Re-read the stored snapshot, compare it with its manifest and record the result.

    Returns the (verified) manifest; on a mismatch or a missing object the manifest is
    rewritten with ``verified=False`` and VerificationError is raised. A missing or
    malformed manifest raises ObjectNotFoundError or ManifestError.
    """
    manifest = read_manifest(store, snapshot)
    try:
        with store.fetch(snapshot) as stream:
            sha256, size = digest(stream)
        problem = _mismatch(manifest, sha256=sha256, size=size)
    except ObjectNotFoundError:
        problem = "the snapshot object is missing"
    recorded = dataclasses.replace(manifest, verified=problem is None)
    if recorded != manifest:
        write_manifest(store, recorded)
    if problem:
        raise VerificationError(f"snapshot {snapshot!r} failed verification: {problem}")
    return recorded


@dataclass(frozen=True, kw_only=True)
class SnapshotEntry:
    """One snapshot as the store holds it; ``problem`` says why it is not good."""

    key: str
    name: SnapshotName
    object: ObjectInfo | None
    manifest: Manifest | None
    problem: str | None

    @property
    def good(self) -> bool:
        return self.problem is None


def list_snapshots(store: SnapStore, prefix: str = "") -> list[SnapshotEntry]:
    """Every snapshot that has an object or a manifest under ``prefix``, oldest first."""
    objects: dict[str, ObjectInfo] = {}
    with_manifest: set[str] = set()
    for info in store.list(prefix):
        if info.key.endswith(MANIFEST_SUFFIX):
            with_manifest.add(info.key.removesuffix(MANIFEST_SUFFIX))
        else:
            objects[info.key] = info
    entries = []
    for key in objects.keys() | with_manifest:
        try:
            name = parse_snapshot_name(key)
        except ValueError:
            continue  # not a snapshot (another tool's object, or a stray file)
        manifest, problem = None, None
        if key in with_manifest:
            try:
                manifest = read_manifest(store, key)
            except ObjectNotFoundError:
                pass  # deleted since the listing
            except ManifestError as error:
                problem = f"unreadable manifest: {error}"
        obj = objects.get(key)
        entries.append(
            SnapshotEntry(
                key=key,
                name=name,
                object=obj,
                manifest=manifest,
                problem=problem or _entry_problem(manifest, obj),
            )
        )
    return sorted(entries, key=lambda e: (e.name.created, e.key))


def good_snapshots(store: SnapStore, prefix: str = "") -> list[SnapshotEntry]:
    """Snapshots whose manifest says verified and whose object has the manifest's size."""
    return [entry for entry in list_snapshots(store, prefix) if entry.good]


def owned(entries: Iterable[SnapshotEntry]) -> list[OwnedSnapshot]:
    """The entries as the ownership rules see them (core/snapshot_owner.py)."""
    return [
        OwnedSnapshot(
            key=e.key,
            created=e.name.created,
            good=e.good,
            shoot_uid=e.manifest.shoot_uid if e.manifest else None,
        )
        for e in entries
    ]


def newest_good_of(store: SnapStore, shoot_uid: str) -> SnapshotEntry | None:
    """The newest good snapshot the shoot with ``shoot_uid`` wrote to ``store``, or None:
    what a default restore takes and what the etcd init check compares against."""
    entries = list_snapshots(store)
    chosen = newest_good(owned(entries), shoot_uid=shoot_uid)
    return next((e for e in entries if chosen and e.key == chosen.key), None)


def _entry_problem(manifest: Manifest | None, obj: ObjectInfo | None) -> str | None:
    if manifest is None:
        return "no manifest"
    if not manifest.verified:
        return "not verified"
    if obj is None:
        return "the snapshot object is missing"
    if obj.size != manifest.size:
        return f"the object has {obj.size} bytes, its manifest says {manifest.size}"
    return None


def _mismatch(manifest: Manifest, *, sha256: str, size: int) -> str | None:
    if size != manifest.size:
        return f"the object has {size} bytes, its manifest says {manifest.size}"
    if sha256 != manifest.sha256:
        return f"sha256 {sha256} differs from the manifest's {manifest.sha256}"
    return None


def _compression_of(name: SnapshotName) -> Compression:
    return Compression.GZIP if name.compressed else Compression.NONE
