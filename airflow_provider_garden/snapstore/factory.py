"""Open a snapstore by kind, as the agent's backup and restore verbs are told to."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from airflow_provider_garden.snapstore.local import LocalStore
from airflow_provider_garden.snapstore.protocol import SnapStore


class StoreKind(StrEnum):
    LOCAL = "local"
    S3 = "s3"


def open_store(
    kind: StoreKind | str,
    *,
    root: Path | None = None,
    bucket: str | None = None,
    prefix: str = "",
    secret_dir: Path | None = None,
) -> SnapStore:
    """``local`` needs ``root``; ``s3`` needs ``bucket`` and ``secret_dir`` (the mounted
    Secret holding the credentials). ``prefix`` scopes the store, e.g. to one shoot."""
    try:
        kind = StoreKind(kind)
    except ValueError:
        choices = ", ".join(k.value for k in StoreKind)
        raise ValueError(f"unknown snapstore kind {kind!r}; choose one of {choices}") from None
    if kind is StoreKind.LOCAL:
        if root is None or bucket is not None or secret_dir is not None:
            raise ValueError("a local snapstore takes root (and prefix), not bucket or secret_dir")
        return LocalStore(root=root, prefix=prefix)
    if bucket is None or secret_dir is None or root is not None:
        raise ValueError("an s3 snapstore takes bucket and secret_dir (and prefix), not root")
    # boto3 is the optional `s3` extra: only an S3 store needs it.
    from airflow_provider_garden.snapstore.s3 import S3Store

    return S3Store(bucket=bucket, prefix=prefix, secret_dir=secret_dir)
