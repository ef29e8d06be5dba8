"""A snapstore in a directory, e.g. a PersistentVolumeClaim mounted into the backup pod.

A save streams into a hidden temporary file beside its target, fsyncs it and renames
it into place, then fsyncs the directory: after a crash the key holds either the
previous object or the complete new one. Objects are created with mode 0600 (mkstemp's):
an etcd snapshot holds every Secret of its cluster. What a root process writes (the restore
pod marking a snapshot unverified) is given to the owner of the directory it is written in
(``Backup-<ts>/``, made by the backup pod), as are the directories it makes: a 0600 file of
root's would be unreadable to the backup pod's user, and every later backup of the shoot
would fail listing the store. (The volume's own root is root's, mode 0777: its owner is not
the backup pod's user.) Hidden names (``.*``) are never keys, so
the temporary of a killed save is never listed; deleting its key (as retention does with
a snapshot that was never verified) removes it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from airflow_provider_garden.core.store_space import StoreSpace
from airflow_provider_garden.snapstore.protocol import (
    ObjectInfo,
    ObjectNotFoundError,
    ReadableStream,
    SnapStoreError,
    is_valid_key,
    validate_key,
    validate_prefix,
)

COPY_CHUNK = 1 << 20
_TMP = ".tmp"


class LocalStore:
    def __init__(self, *, root: Path, prefix: str = "") -> None:
        if not root.is_dir():
            raise SnapStoreError(f"local snapstore root {root} is not a directory")
        self.root = root
        self.base = root / validate_key(prefix) if prefix else root

    def __repr__(self) -> str:
        return f"LocalStore(base={str(self.base)!r})"

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        validate_prefix(prefix)
        # Only the directory the prefix fully names needs walking.
        start = self.base / prefix.rpartition("/")[0]
        found = []
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            directory = Path(dirpath)
            for name in filenames:
                key = (directory / name).relative_to(self.base).as_posix()
                if key.startswith(prefix) and is_valid_key(key):
                    found.append(self._info(key, directory / name))
        return sorted(found, key=lambda info: info.key)

    def fetch(self, key: str) -> BinaryIO:
        try:
            return (self.base / validate_key(key)).open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFoundError(f"{self!r} has no object {key!r}") from None

    def save(self, key: str, stream: ReadableStream) -> ObjectInfo:
        target = self.base / validate_key(key)
        _make_dirs_durable(target.parent, stop=self.root)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=_TMP)
        tmp = Path(tmp_name)
        try:
            _give_to_owner_of(target.parent, fd)
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(stream, out, COPY_CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)
        return self._info(key, target)

    def delete(self, key: str) -> None:
        target = self.base / validate_key(key)
        target.unlink(missing_ok=True)
        # mkstemp's names: ".<name>." + 8 random characters + ".tmp", so no other key's match.
        for temporary in target.parent.glob(f".{glob.escape(target.name)}.{'?' * 8}{_TMP}"):
            temporary.unlink(missing_ok=True)
        # Drop directories the key leaves empty (Backup-<ts>/), never the store's own.
        parent = target.parent
        while parent != self.base and parent.is_relative_to(self.base):
            try:
                parent.rmdir()
            except OSError:  # not empty (or already gone): nothing more to tidy
                break
            parent = parent.parent

    def describe(self) -> str:
        """What a message names this store by."""
        return f"local {self.base}"

    def space(self, capacity: int) -> StoreSpace:
        """What the volume under ``root`` holds (every file, hidden temporaries too, other
        prefixes too: they share the volume) and may still take within ``capacity``."""
        used = 0
        for dirpath, _, filenames in os.walk(self.root):
            for name in filenames:
                with contextlib.suppress(FileNotFoundError):  # deleted meanwhile
                    used += (Path(dirpath) / name).lstat().st_size
        disk = os.statvfs(self.root)
        return StoreSpace(capacity=capacity, used=used, disk_free=disk.f_bavail * disk.f_frsize)

    @staticmethod
    def _info(key: str, path: Path) -> ObjectInfo:
        stat = path.stat()
        return ObjectInfo(
            key=key, size=stat.st_size, modified=dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC)
        )


def _make_dirs_durable(directory: Path, *, stop: Path) -> None:
    """mkdir -p, fsyncing each new directory's parent so the new entry survives a crash."""
    missing = []
    while not directory.is_dir():
        if directory == stop:
            raise SnapStoreError(f"local snapstore root {stop} disappeared")
        missing.append(directory)
        directory = directory.parent
    for new in reversed(missing):
        new.mkdir(exist_ok=True)
        _give_to_owner_of(new.parent, new)
        _fsync_dir(new.parent)


def _give_to_owner_of(directory: Path, what: int | Path) -> None:
    """Root's writes belong to the owner of the directory they are in (module docstring)."""
    if os.geteuid() != 0:
        return  # only root can give files away; anyone else writes as the owner already
    owner = directory.stat()
    os.chown(what, owner.st_uid, owner.st_gid)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
