"""A snapstore in a bucket of any S3-compatible server.

Credentials come only from the files of a mounted Secret (``accessKeyID``,
``secretAccessKey``, optional ``region`` and ``endpoint``, the layout Gardener's
backup secrets use), never from arguments or the environment, so they cannot leak
through a templated field, an env dump or a log line. Path-style addressing works
against every S3-compatible server. Large streams go up as multipart uploads that
are aborted when the stream fails, so no partial object ever becomes visible.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal, overload

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from airflow_provider_garden.snapstore.protocol import (
    ObjectInfo,
    ObjectNotFoundError,
    ReadableStream,
    SnapStoreError,
    is_valid_key,
    validate_key,
    validate_prefix,
)

DEFAULT_REGION = "us-east-1"
MiB = 1 << 20
# 8 MiB parts allow objects up to 80 GB (10,000 parts), beyond etcd's 8 GiB quota.
TRANSFER = TransferConfig(
    multipart_threshold=8 * MiB,
    multipart_chunksize=8 * MiB,
    max_concurrency=4,
    preferred_transfer_client="classic",
)
# Parts read ahead of the upload are held in memory: six bound a save to about 48 MiB
# however large the snapshot (boto3's constructor does not take this s3transfer setting).
TRANSFER.max_in_memory_upload_chunks = 6
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


@dataclass(frozen=True, kw_only=True)
class S3Credentials:
    endpoint: str | None
    region: str
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)

    @classmethod
    def from_secret_dir(cls, secret_dir: Path) -> S3Credentials:
        return cls(
            endpoint=_secret_file(secret_dir, "endpoint", required=False),
            region=_secret_file(secret_dir, "region", required=False) or DEFAULT_REGION,
            access_key_id=_secret_file(secret_dir, "accessKeyID", required=True),
            secret_access_key=_secret_file(secret_dir, "secretAccessKey", required=True),
        )


@overload
def _secret_file(secret_dir: Path, name: str, *, required: Literal[True]) -> str: ...
@overload
def _secret_file(secret_dir: Path, name: str, *, required: Literal[False]) -> str | None: ...
def _secret_file(secret_dir: Path, name: str, *, required: bool) -> str | None:
    """The stripped content of one file of the Secret; errors name the file, never the value."""
    path = secret_dir / name
    if not path.is_file():
        if required:
            raise SnapStoreError(f"S3 secret directory {secret_dir} has no file {name!r}")
        return None
    value = path.read_text().strip()
    if not value:
        raise SnapStoreError(f"S3 secret file {path} is empty")
    return value


class S3Store:
    def __init__(self, *, bucket: str, prefix: str = "", secret_dir: Path) -> None:
        credentials = S3Credentials.from_secret_dir(secret_dir)
        self.bucket = bucket
        self.endpoint = credentials.endpoint
        self.base = f"{validate_key(prefix)}/" if prefix else ""
        self._client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=credentials.endpoint,
            region_name=credentials.region,
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"mode": "standard", "max_attempts": 5},
                # Many S3-compatible servers reject the CRC trailers newer botocore sends
                # by default; integrity is checked end to end by the manifest's sha256.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    def __repr__(self) -> str:
        return f"S3Store(endpoint={self.endpoint!r}, bucket={self.bucket!r}, prefix={self.base!r})"

    def check(self) -> None:
        """One request proving the endpoint answers, the credentials hold and the bucket
        exists (raises as the other operations do; unreachable: from a BotoCoreError)."""
        with self._errors("check bucket", ""):
            self._client.head_bucket(Bucket=self.bucket)

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        validate_prefix(prefix)
        found = []
        with self._errors("list", prefix):
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.base + prefix
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    key = obj["Key"][len(self.base) :]
                    # Objects other tools put here (directory markers, odd names) are not ours.
                    if is_valid_key(key):
                        found.append(
                            ObjectInfo(key=key, size=obj["Size"], modified=obj["LastModified"])
                        )
        return sorted(found, key=lambda info: info.key)

    def fetch(self, key: str) -> BinaryIO:
        with self._errors("fetch", key):
            body = self._client.get_object(Bucket=self.bucket, Key=self.base + validate_key(key))
        return io.BufferedReader(_BodyReader(body["Body"]), buffer_size=MiB)

    def save(self, key: str, stream: ReadableStream) -> ObjectInfo:
        name = self.base + validate_key(key)
        with self._errors("save", key):
            self._client.upload_fileobj(_FullReads(stream), self.bucket, name, Config=TRANSFER)
            head = self._client.head_object(Bucket=self.bucket, Key=name)
        return ObjectInfo(key=key, size=head["ContentLength"], modified=head["LastModified"])

    def delete(self, key: str) -> None:
        with self._errors("delete", key):
            self._client.delete_object(Bucket=self.bucket, Key=self.base + validate_key(key))

    @contextmanager
    def _errors(self, operation: str, key: str) -> Iterator[None]:
        """Turn botocore errors into snapstore errors naming the store and key (never a secret)."""
        try:
            yield
        except ClientError as error:
            info = error.response.get("Error", {})
            code = str(info.get("Code", "?"))
            where = f"{self!r}: {operation} {key!r}"
            if code in _NOT_FOUND:
                raise ObjectNotFoundError(f"{where}: no such object") from None
            raise SnapStoreError(f"{where}: {code} {info.get('Message', '')}".rstrip()) from error
        except BotoCoreError as error:
            raise SnapStoreError(f"{self!r}: {operation} {key!r}: {error}") from error


class _FullReads:
    """s3transfer takes a short read for the end of the stream and would store a truncated
    object; pipes and sockets do return short reads, so each read is filled up here."""

    def __init__(self, stream: ReadableStream) -> None:
        self._stream = stream

    def read(self, size: int = -1, /) -> bytes:
        chunks, left = [], size if size >= 0 else None
        while left is None or left > 0:
            data = self._stream.read(MiB if left is None else left)
            if not data:
                break
            chunks.append(data)
            if left is not None:
                left -= len(data)
        return b"".join(chunks)


class _BodyReader(io.RawIOBase):
    """The raw side of a streamed GET body, so callers get an ordinary buffered stream."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()
