"""Pack a checked source tree into a small tar.gz, and unpack one safely.

The archive travels to the operator pod in a ConfigMap's ``binaryData``, so it
must stay under the ConfigMap limit (1 MiB for the whole object; we keep a
margin). It is deterministic (sorted, zero times and owners): the same tree
always gives the same bytes. Symlinks inside the tree are stored as the files
they point to, so unpacking creates regular files and directories only.

Unpacking trusts nothing: absolute names, ``..``, links, devices and archives
that expand past the limits are refused before a byte is written.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path, PurePosixPath

from .kustomize_source import SourceLimits, SourceTree

# ConfigMaps are limited to 1 MiB in total; leave room for metadata and encoding.
MAX_PACKED_BYTES = 900 * 1024


class PackError(ValueError):
    """The source does not fit, or an archive is not one we would have written."""


def pack(tree: SourceTree, *, max_packed: int = MAX_PACKED_BYTES) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for f in sorted(tree.files, key=lambda f: f.relpath):
            data = f.path.read_bytes()
            info = tarfile.TarInfo(f.relpath)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    packed = gzip.compress(raw.getvalue(), compresslevel=9, mtime=0)
    if len(packed) > max_packed:
        raise PackError(
            f"kustomize source {tree.root} packs to {len(packed)} bytes; the limit is "
            f"{max_packed} (it travels in a ConfigMap): ship a smaller tree or use git_url"
        )
    return packed


def unpack(data: bytes, dest: Path, limits: SourceLimits) -> int:
    """Extract ``data`` under ``dest``; return the number of files written."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = tar.getmembers()
        files = [m for m in members if m.isfile()]
        for m in members:
            _check_member(m)
        if len(files) > limits.max_files:
            raise PackError(f"archive holds {len(files)} files; the limit is {limits.max_files}")
        total = sum(m.size for m in files)
        if total > limits.max_bytes:
            raise PackError(f"archive expands to {total} bytes; the limit is {limits.max_bytes}")
        for m in files:
            target = dest.joinpath(*PurePosixPath(m.name).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(m)
            if source is None:  # pragma: no cover - isfile() members always have data
                raise PackError(f"archive member {m.name!r} has no data")
            target.write_bytes(source.read())
    return len(files)


def _check_member(m: tarfile.TarInfo) -> None:
    name = PurePosixPath(m.name)
    if not (m.isfile() or m.isdir()):
        raise PackError(f"archive member {m.name!r} is not a regular file or directory")
    if name.is_absolute() or ".." in name.parts or not name.parts:
        raise PackError(f"archive member {m.name!r} must be a relative path without '..'")
