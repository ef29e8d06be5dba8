"""What only the S3 backend has: multipart uploads, credentials from a Secret, foreign objects."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest
from s3server import S3Server
from snapstore_backends import PREFIX, Backend, MiB, PatternStream

from airflow_provider_garden.snapstore.protocol import SnapStoreError
from airflow_provider_garden.snapstore.s3 import TRANSFER, S3Store

KEY = "Backup-1/Full-00000001-00000002-1"


def test_a_large_stream_goes_up_in_parts(s3: Backend) -> None:
    size = 80 * MiB + 1
    s3.store.save(KEY, PatternStream(size))
    head = s3.s3.head_object(Bucket=s3.bucket, Key=f"{PREFIX}/{KEY}")
    parts = math.ceil(size / TRANSFER.multipart_chunksize)
    assert parts > 1
    # A multipart object's ETag is "<md5 of the part md5s>-<part count>".
    assert head["ETag"].strip('"').endswith(f"-{parts}")


def test_small_objects_go_up_in_one_request(s3: Backend) -> None:
    s3.store.save(KEY, io.BytesIO(b"small"))
    head = s3.s3.head_object(Bucket=s3.bucket, Key=f"{PREFIX}/{KEY}")
    assert "-" not in head["ETag"]


def test_objects_of_other_tools_under_the_prefix_are_not_listed(s3: Backend) -> None:
    s3.s3.put_object(Bucket=s3.bucket, Key=f"{PREFIX}/dir/", Body=b"")  # a directory marker
    for foreign in (f"{PREFIX}/a b", f"{PREFIX}/.hidden", "elsewhere/x"):
        s3.s3.put_object(Bucket=s3.bucket, Key=foreign, Body=b"x")
    s3.store.save(KEY, io.BytesIO(b"ours"))
    assert [i.key for i in s3.store.list()] == [KEY]


def test_wrong_credentials_fail_clearly_without_revealing_them(
    s3_server: S3Server, s3_bucket: str, tmp_path: Path
) -> None:
    wrong = "wrong-" + "s" * 30
    secret_dir = s3_server.write_secret_dir(tmp_path / "secret", secret_access_key=wrong)
    store = S3Store(bucket=s3_bucket, secret_dir=secret_dir)
    with pytest.raises(SnapStoreError) as failure:
        store.save(KEY, io.BytesIO(b"x"))
    text = f"{failure.value} {failure.value!r} {store!r}"
    assert "SignatureDoesNotMatch" in text or "AccessDenied" in text
    assert s3_bucket in text
    assert wrong not in text
    assert s3_server.secret_access_key not in text


def test_credentials_come_from_the_secret_directory_not_the_environment(
    s3_server: S3Server, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "FROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "from-env")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    store = S3Store(bucket=s3_bucket, secret_dir=s3_server.write_secret_dir(tmp_path / "secret"))
    store.save(KEY, io.BytesIO(b"x"))
    assert [i.key for i in store.list()] == [KEY]


def test_a_missing_bucket_is_named_in_the_error(s3_server: S3Server, tmp_path: Path) -> None:
    secret_dir = s3_server.write_secret_dir(tmp_path / "secret")
    store = S3Store(bucket="no-such-bucket", secret_dir=secret_dir)
    with pytest.raises(SnapStoreError, match=r"no-such-bucket.*NoSuchBucket"):
        store.list()
