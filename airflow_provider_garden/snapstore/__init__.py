"""Where etcd snapshots live: a four-method protocol and one module per backend.

``open_store`` picks the backend; ``manifest`` holds the per-snapshot JSON record and
decides which snapshots are good. The S3 backend needs boto3 (the ``s3`` extra) and is
imported only when an S3 store is opened.
"""

from __future__ import annotations

from airflow_provider_garden.snapstore.factory import StoreKind, open_store
from airflow_provider_garden.snapstore.protocol import (
    InvalidKeyError,
    ObjectInfo,
    ObjectNotFoundError,
    SnapStore,
    SnapStoreError,
)

__all__ = [
    "InvalidKeyError",
    "ObjectInfo",
    "ObjectNotFoundError",
    "SnapStore",
    "SnapStoreError",
    "StoreKind",
    "open_store",
]
