from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from airflow_provider_garden.core.kustomize_pack import PackError, pack, unpack
from airflow_provider_garden.core.kustomize_source import SourceLimits, scan_tree


def tree_of(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def test_round_trip_is_deterministic_and_dereferences_links(tmp_path: Path) -> None:
    src = tree_of(tmp_path / "src", {"base/k.yaml": b"a: 1\n", "overlay/k.yaml": b"b: 2\n"})
    os.symlink(src / "base/k.yaml", src / "overlay/linked.yaml")
    tree = scan_tree(src, SourceLimits())
    first = pack(tree)
    os.utime(src / "base/k.yaml", (1, 1))
    assert pack(scan_tree(src, SourceLimits())) == first
    out = tmp_path / "out"
    assert unpack(first, out, SourceLimits()) == 3
    assert (out / "overlay/linked.yaml").read_bytes() == b"a: 1\n"
    assert not (out / "overlay/linked.yaml").is_symlink()


def test_pack_limit_names_sizes(tmp_path: Path) -> None:
    src = tree_of(tmp_path, {"big.bin": os.urandom(4096)})
    with pytest.raises(PackError, match=r"packs to \d+ bytes; the limit is 1000"):
        pack(scan_tree(src, SourceLimits()), max_packed=1000)


def archive(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return gzip.compress(raw.getvalue())


def member(
    name: str, data: bytes = b"x", kind: bytes = tarfile.REGTYPE
) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    if kind == tarfile.SYMTYPE:
        info.linkname = "/etc/passwd"
    return info, data


@pytest.mark.parametrize(
    ("members", "error"),
    [
        ([member("/etc/cron.d/x")], "must be a relative path"),
        ([member("a/../../x")], "must be a relative path"),
        ([member("link", kind=tarfile.SYMTYPE)], "is not a regular file or directory"),
        ([member(f"f{i}") for i in range(3)], "holds 3 files; the limit is 2"),
        ([member("big", b"x" * 11)], "expands to 11 bytes; the limit is 10"),
    ],
)
def test_unpack_refuses_hostile_archives(
    tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes]], error: str
) -> None:
    with pytest.raises(PackError, match=error):
        unpack(archive(*members), tmp_path, SourceLimits(max_files=2, max_bytes=10))
    assert list(tmp_path.iterdir()) == []
