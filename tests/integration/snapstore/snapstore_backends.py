"""The two backends under test, and streams that are large without being held in memory."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_provider_garden.snapstore.factory import StoreKind, open_store
from airflow_provider_garden.snapstore.protocol import SnapStore

MiB = 1 << 20
PREFIX = "shoot--dev--alpha"


@dataclass(frozen=True, kw_only=True)
class Backend:
    kind: StoreKind
    store: SnapStore
    object_path: Callable[[str], Path]  # where the backend keeps a key's bytes on disk
    open_args: dict[str, str]  # open_store's arguments, for a store opened in another process
    s3: Any = None  # a raw boto3 client (S3 only), to look behind the S3 store
    bucket: str | None = None


def local_backend(root: Path) -> Backend:
    root.mkdir()
    return Backend(
        kind=StoreKind.LOCAL,
        store=open_store(StoreKind.LOCAL, root=root, prefix=PREFIX),
        object_path=lambda key: root / PREFIX / key,
        open_args={"kind": "local", "root": str(root), "prefix": PREFIX},
    )


def s3_backend(server: Any, bucket: str, secret_dir: Path) -> Backend:
    server.write_secret_dir(secret_dir)
    return Backend(
        kind=StoreKind.S3,
        store=open_store(StoreKind.S3, bucket=bucket, prefix=PREFIX, secret_dir=secret_dir),
        object_path=lambda key: server.object_path(bucket, f"{PREFIX}/{key}"),
        open_args={"kind": "s3", "bucket": bucket, "secret_dir": str(secret_dir), "prefix": PREFIX},
        s3=server.client(),
        bucket=bucket,
    )


class Interrupted(Exception):
    pass


class PatternStream:
    """``size`` pseudo-random bytes made on the fly, the same for the same ``seed``. Every
    MiB differs (it starts with its index), so a lost, repeated or reordered part changes
    the digest. With ``break_at`` it raises there, like a connection dying mid-upload;
    with ``max_read`` it answers reads short, like a pipe or a socket."""

    def __init__(
        self,
        size: int,
        *,
        seed: int = 0,
        break_at: int | None = None,
        max_read: int | None = None,
    ) -> None:
        self.size, self.pos, self.break_at, self.max_read = size, 0, break_at, max_read
        self._block = bytearray(random.Random(seed).randbytes(MiB))  # noqa: S311 (test data)

    def read(self, size: int = -1, /) -> bytes:
        if self.break_at is not None and self.pos >= self.break_at:
            raise Interrupted(f"stream broken at byte {self.pos}")
        end = self.size if size < 0 else min(self.size, self.pos + size)
        if self.max_read is not None:
            end = min(end, self.pos + self.max_read)
        if self.break_at is not None:
            end = min(end, self.break_at)
        out = bytearray()
        while self.pos < end:
            index, offset = divmod(self.pos, MiB)
            self._block[:8] = index.to_bytes(8, "big")
            take = min(end - self.pos, MiB - offset)
            out += self._block[offset : offset + take]
            self.pos += take
        return bytes(out)
