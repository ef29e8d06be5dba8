"""Snapstore contract tests run against both backends: a local directory and a
bucket on a real S3-compatible server (versitygw) started for the session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# tests/ is on sys.path: pytest puts the directory of the rootdir conftest there.
from s3server import S3Server, start
from snapstore_backends import Backend, local_backend, s3_backend

from airflow_provider_garden.snapstore.factory import StoreKind


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = start(tmp_path_factory.mktemp("s3server"))
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> str:
    bucket = f"snap-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture
def s3(s3_server: S3Server, s3_bucket: str, tmp_path: Path) -> Backend:
    return s3_backend(s3_server, s3_bucket, tmp_path / "secret")


@pytest.fixture(params=[StoreKind.LOCAL, StoreKind.S3])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param is StoreKind.LOCAL:
        return local_backend(tmp_path / "pvc")
    s3: Backend = request.getfixturevalue("s3")
    return s3
