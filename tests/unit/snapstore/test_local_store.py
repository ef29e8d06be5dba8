from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from airflow_provider_garden.snapstore.local import LocalStore
from airflow_provider_garden.snapstore.protocol import (
    InvalidKeyError,
    ObjectNotFoundError,
    SnapStoreError,
)

KEY = "Backup-1700000000/Full-00000001-00000042-1700000000"


class Interrupted(Exception):
    pass


class BreaksAfter:
    """A stream that delivers `good` bytes, then fails like a dying etcd connection."""

    def __init__(self, good: int) -> None:
        self.left = good

    def read(self, size: int = -1, /) -> bytes:
        if self.left <= 0:
            raise Interrupted("connection lost")
        n = self.left if size < 0 else min(size, self.left)
        self.left -= n
        return b"x" * n


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(root=tmp_path)


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_save_fetch_list_delete_round_trip(store: LocalStore, tmp_path: Path) -> None:
    info = store.save(KEY, io.BytesIO(b"snapshot bytes"))
    assert (info.key, info.size) == (KEY, 14)
    assert (tmp_path / KEY).read_bytes() == b"snapshot bytes"
    with store.fetch(KEY) as stream:
        assert stream.read() == b"snapshot bytes"
    assert [i.key for i in store.list()] == [KEY]
    store.delete(KEY)
    assert store.list() == []
    assert list(tmp_path.iterdir()) == [], "the emptied Backup-<ts>/ directory is removed too"


def test_objects_are_readable_only_by_their_owner(store: LocalStore, tmp_path: Path) -> None:
    store.save(KEY, io.BytesIO(b"secrets of a cluster"))
    assert stat.S_IMODE((tmp_path / KEY).stat().st_mode) == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="only root writes files for another user")
def test_what_root_writes_belongs_to_the_owner_of_its_directory(tmp_path: Path) -> None:
    """The restore pod (root) marks a manifest unverified in the Backup-<ts>/ directory
    the backup pod (the toolbox's user) made; that user must still read it, or every later
    backup of the shoot fails listing the store. The volume's root stays root's (0777)."""
    tmp_path.chmod(0o777)
    backup_dir = (tmp_path / KEY).parent
    backup_dir.mkdir()
    os.chown(backup_dir, 4321, 4321)  # made by the backup pod's user
    store = LocalStore(root=tmp_path)
    store.save(KEY + ".manifest.json", io.BytesIO(b"{}"))
    store.save(KEY + "/nested/object", io.BytesIO(b"x"))  # directories root makes, too
    made = [
        backup_dir / (Path(KEY).name + ".manifest.json"),
        tmp_path / KEY,
        tmp_path / KEY / "nested",
        tmp_path / KEY / "nested" / "object",
    ]
    for path in made:
        assert (path.stat().st_uid, path.stat().st_gid) == (4321, 4321), path
    assert stat.S_IMODE(made[0].stat().st_mode) == 0o600
    assert tmp_path.stat().st_uid == 0


def test_save_replaces_an_existing_object_whole(store: LocalStore) -> None:
    store.save(KEY, io.BytesIO(b"old"))
    store.save(KEY, io.BytesIO(b"new and longer"))
    with store.fetch(KEY) as stream:
        assert stream.read() == b"new and longer"


def test_interrupted_save_leaves_no_object_and_no_temporary(
    store: LocalStore, tmp_path: Path
) -> None:
    with pytest.raises(Interrupted):
        store.save(KEY, BreaksAfter(3 * 1024 * 1024 + 5))
    assert store.list() == []
    assert files_under(tmp_path) == []


def test_interrupted_overwrite_keeps_the_previous_object(store: LocalStore) -> None:
    store.save(KEY, io.BytesIO(b"previous"))
    with pytest.raises(Interrupted):
        store.save(KEY, BreaksAfter(10))
    with store.fetch(KEY) as stream:
        assert stream.read() == b"previous"


def test_temporaries_of_a_killed_save_are_not_listed(store: LocalStore, tmp_path: Path) -> None:
    (tmp_path / "Backup-1").mkdir()
    (tmp_path / "Backup-1" / ".Full-1.abc.tmp").write_bytes(b"half")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x").write_bytes(b"")
    assert store.list() == []


def test_list_is_a_string_prefix_sorted_by_key(store: LocalStore) -> None:
    for key in ["Backup-20/b", "Backup-100/a", "Backup-2/a", "other/a"]:
        store.save(key, io.BytesIO(key.encode()))
    assert [i.key for i in store.list("Backup-2")] == ["Backup-2/a", "Backup-20/b"]
    assert [i.key for i in store.list("Backup-2/")] == ["Backup-2/a"]
    assert [i.key for i in store.list("Backup-")] == ["Backup-100/a", "Backup-2/a", "Backup-20/b"]
    assert [i.key for i in store.list("nothing/here/")] == []


def test_prefix_scopes_the_store_to_a_subdirectory(tmp_path: Path) -> None:
    alpha = LocalStore(root=tmp_path, prefix="shoot--dev--alpha")
    beta = LocalStore(root=tmp_path, prefix="shoot--dev--beta")
    alpha.save(KEY, io.BytesIO(b"a"))
    assert (tmp_path / "shoot--dev--alpha" / KEY).is_file()
    assert [i.key for i in alpha.list()] == [KEY]
    assert beta.list() == []
    alpha.delete(KEY)
    assert (tmp_path / "shoot--dev--alpha").is_dir(), "the store's own directory stays"


def test_fetch_of_a_missing_key_says_so(store: LocalStore) -> None:
    with pytest.raises(ObjectNotFoundError, match="no object 'Backup-1/x'"):
        store.fetch("Backup-1/x")
    store.save("Backup-1/x", io.BytesIO(b""))
    with pytest.raises(ObjectNotFoundError):
        store.fetch("Backup-1")


def test_delete_of_a_missing_key_is_not_an_error(store: LocalStore) -> None:
    store.delete("Backup-1/x")


@pytest.mark.parametrize("key", ["../escape", "/tmp/escape", "a//b", "Backup-1/../../x"])
def test_path_traversal_is_rejected_before_touching_the_disk(tmp_path: Path, key: str) -> None:
    root = tmp_path / "store"
    root.mkdir()
    store = LocalStore(root=root)
    for call in (
        lambda: store.save(key, io.BytesIO(b"x")),
        lambda: store.fetch(key),
        lambda: store.delete(key),
    ):
        with pytest.raises(InvalidKeyError):
            call()
    assert files_under(tmp_path) == []
    assert not os.path.exists("/tmp/escape")


def test_root_must_exist(tmp_path: Path) -> None:
    with pytest.raises(SnapStoreError, match="is not a directory"):
        LocalStore(root=tmp_path / "missing")


def test_prefix_follows_the_key_rules(tmp_path: Path) -> None:
    with pytest.raises(InvalidKeyError):
        LocalStore(root=tmp_path, prefix="../other")
