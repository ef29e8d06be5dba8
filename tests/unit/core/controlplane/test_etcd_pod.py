from __future__ import annotations

import dataclasses
import datetime as dt

from airflow_provider_garden.core.controlplane.etcd_pod import STORE_ROOT, kept_store_volumes
from airflow_provider_garden.core.kept_backups import KeptBackups
from airflow_provider_garden.core.shoot_spec import SnapstoreKind

LOCAL = KeptBackups(
    project="team-a",
    name="db",
    uid="aaaaaaaa-1111-4000-8000-000000000001",
    kind=SnapstoreKind.LOCAL,
    prefix="shoot--team-a--db",
    deleted=dt.datetime(2026, 12, 6, tzinfo=dt.UTC),
    keep_for=dt.timedelta(days=7),
    claim="etcd-backups-db-aaaaaaaa",
)


def test_a_kept_local_store_is_its_kept_claim() -> None:
    volumes, mounts, args = kept_store_volumes(LOCAL)
    assert volumes == [
        {"name": "store", "persistentVolumeClaim": {"claimName": "etcd-backups-db-aaaaaaaa"}}
    ]
    assert mounts == [{"name": "store", "mountPath": STORE_ROOT}]
    assert args == [
        "--store-kind", "local", "--prefix", "shoot--team-a--db", "--store-root", STORE_ROOT,
    ]  # fmt: skip


def test_a_kept_s3_store_mounts_the_projects_secret_read_only() -> None:
    s3 = dataclasses.replace(
        LOCAL, kind=SnapstoreKind.S3, claim=None, bucket="etcd", secret_name="s3-creds"
    )
    volumes, mounts, args = kept_store_volumes(s3)
    assert volumes[0]["secret"] == {"secretName": "s3-creds", "defaultMode": 0o400}
    assert mounts[0]["readOnly"] is True
    assert args[-4:] == ["--bucket", "etcd", "--secret-dir", "/etc/snapstore"]
