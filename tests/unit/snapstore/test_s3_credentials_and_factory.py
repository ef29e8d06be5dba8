from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_garden.snapstore.factory import StoreKind, open_store
from airflow_provider_garden.snapstore.local import LocalStore
from airflow_provider_garden.snapstore.protocol import SnapStoreError
from airflow_provider_garden.snapstore.s3 import S3Credentials, S3Store

CANARY = "canary-secret-9f3b1c7e"


def secret_dir(tmp_path: Path, **files: str) -> Path:
    directory = tmp_path / "secret"
    directory.mkdir()
    for name, value in files.items():
        (directory / name).write_text(value)
    return directory


def test_credentials_are_read_from_the_files_and_stripped(tmp_path: Path) -> None:
    creds = S3Credentials.from_secret_dir(
        secret_dir(
            tmp_path,
            accessKeyID="AKID\n",
            secretAccessKey=CANARY + "\n",
            endpoint="http://127.0.0.1:7070\n",
            region="eu-west-1",
        )
    )
    assert (creds.access_key_id, creds.secret_access_key) == ("AKID", CANARY)
    assert (creds.endpoint, creds.region) == ("http://127.0.0.1:7070", "eu-west-1")


def test_endpoint_and_region_are_optional(tmp_path: Path) -> None:
    creds = S3Credentials.from_secret_dir(
        secret_dir(tmp_path, accessKeyID="AKID", secretAccessKey=CANARY)
    )
    assert (creds.endpoint, creds.region) == (None, "us-east-1")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"secretAccessKey": CANARY}, "has no file 'accessKeyID'"),
        ({"accessKeyID": "AKID"}, "has no file 'secretAccessKey'"),
        ({"accessKeyID": "AKID", "secretAccessKey": " \n"}, "secretAccessKey is empty"),
    ],
)
def test_missing_or_empty_files_are_named(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    with pytest.raises(SnapStoreError, match=message):
        S3Credentials.from_secret_dir(secret_dir(tmp_path, **files))


def test_no_secret_in_reprs(tmp_path: Path) -> None:
    directory = secret_dir(tmp_path, accessKeyID="AKID", secretAccessKey=CANARY)
    creds = S3Credentials.from_secret_dir(directory)
    store = S3Store(bucket="snapshots", prefix="shoot--dev--a", secret_dir=directory)
    assert CANARY not in repr(creds)
    assert CANARY not in repr(store)
    assert CANARY not in str(vars(store))


def test_open_store_local(tmp_path: Path) -> None:
    store = open_store("local", root=tmp_path, prefix="shoot--dev--a")
    assert isinstance(store, LocalStore)
    assert store.base == tmp_path / "shoot--dev--a"


def test_open_store_s3(tmp_path: Path) -> None:
    directory = secret_dir(tmp_path, accessKeyID="AKID", secretAccessKey=CANARY)
    store = open_store(StoreKind.S3, bucket="snapshots", secret_dir=directory)
    assert isinstance(store, S3Store)


@pytest.mark.parametrize(
    ("kind", "arguments", "message"),
    [
        ("gcs", {}, "unknown snapstore kind 'gcs'; choose one of local, s3"),
        ("local", {}, "a local snapstore takes root"),
        ("local", {"root": Path("/"), "bucket": "b"}, "not bucket or secret_dir"),
        ("s3", {"bucket": "b"}, "an s3 snapstore takes bucket and secret_dir"),
        ("s3", {"secret_dir": Path("/"), "bucket": "b", "root": Path("/")}, "not root"),
    ],
)
def test_open_store_names_what_is_wrong(
    kind: str, arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        open_store(kind, **arguments)  # type: ignore[arg-type]
