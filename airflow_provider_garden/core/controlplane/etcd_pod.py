"""What a pod that reads or writes a shoot's etcd snapshots mounts, and how the agent is told.

Shared by EtcdBackupOperator/EtcdRestoreOperator (Airflow side) and `garden backups
ls` (for people): one description of volumes, mounts and arguments, as plain dicts.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from airflow_provider_garden.core.controlplane import manifests as m
from airflow_provider_garden.core.etcd_data_check import INIT_CONTAINER
from airflow_provider_garden.core.kept_backups import KeptBackups
from airflow_provider_garden.core.manifest import Manifest
from airflow_provider_garden.core.shoot_spec import Backup, SnapstoreKind

ETCD_TLS = "/etc/etcd-client"
STORE_ROOT = "/backups"
STORE_SECRET = "/etc/snapstore"
WORK = "/work"
#: Where the etcd pod's data volume is mounted (etcd's --data-dir is a directory in it).
ETCD_MOUNT = str(PurePosixPath(m.ETCD_DATA_DIR).parent)


def store_volumes(backup: Backup) -> tuple[list[Manifest], list[Manifest], list[str]]:
    """Volumes, mounts and `--store-*` arguments of the shoot's snapshot store."""
    store = backup.store
    args = ["--store-kind", store.kind.value, "--prefix", store.prefix]
    if store.kind is SnapstoreKind.LOCAL:
        claim = {"claimName": m.BACKUP_VOLUME_CLAIM}
        return (
            [{"name": "store", "persistentVolumeClaim": claim}],
            [{"name": "store", "mountPath": STORE_ROOT}],
            [*args, "--store-root", STORE_ROOT],
        )
    secret = {"secretName": m.BACKUP_STORE_SECRET, "defaultMode": 0o400}
    return (
        [{"name": "store", "secret": secret}],
        [{"name": "store", "mountPath": STORE_SECRET, "readOnly": True}],
        [*args, "--bucket", store.bucket or "", "--secret-dir", STORE_SECRET],
    )


def kept_store_volumes(record: KeptBackups) -> tuple[list[Manifest], list[Manifest], list[str]]:
    """The same for a deleted shoot's kept snapshots, from a pod in its project namespace:
    the kept volume (local) or the project's store Secret (s3)."""
    args = ["--store-kind", record.kind.value, "--prefix", record.prefix]
    if record.claim is not None:
        return (
            [{"name": "store", "persistentVolumeClaim": {"claimName": record.claim}}],
            [{"name": "store", "mountPath": STORE_ROOT}],
            [*args, "--store-root", STORE_ROOT],
        )
    secret = {"secretName": record.secret_name or "", "defaultMode": 0o400}
    return (
        [{"name": "store", "secret": secret}],
        [{"name": "store", "mountPath": STORE_SECRET, "readOnly": True}],
        [*args, "--bucket", record.bucket or "", "--secret-dir", STORE_SECRET],
    )


def etcd_client_volumes(namespace: str) -> tuple[list[Manifest], list[Manifest], list[str]]:
    """The etcd client certificate and scratch space for a snapshot file."""
    volumes: list[Manifest] = [
        {"name": "etcd-client", "secret": {"secretName": "etcd-client", "defaultMode": 0o400}},
        {"name": "work", "emptyDir": {}},
    ]
    mounts: list[Manifest] = [
        {"name": "etcd-client", "mountPath": ETCD_TLS, "readOnly": True},
        {"name": "work", "mountPath": WORK},
    ]
    args = [
        "--etcd-url",
        f"https://etcd.{namespace}.svc:2379",
        "--etcd-tls-dir",
        ETCD_TLS,
        "--work-dir",
        WORK,
    ]
    return volumes, mounts, args


def data_check(backup: Backup, image: str, *, shoot_uid: str) -> m.EtcdInit:
    """The etcd pod's init step: compare the data directory with the newest good backup
    of the shoot with ``shoot_uid`` (its metadata.uid: another UID's snapshots under the
    same prefix, a deleted namesake's, are not this shoot's history).

    Runs as root: etcd (the upstream image) does, so its data directory is root's, and
    a restore into it must be too. Its refusal travels in the termination message.
    """
    volumes, mounts, args = store_volumes(backup)
    if not shoot_uid:
        raise ValueError("etcd's data check needs the shoot's UID (metadata.uid)")
    args = [*args, "--shoot-uid", shoot_uid, "--data-mount", ETCD_MOUNT, "--work-dir", WORK]
    if backup.auto_restore:
        args.append("--auto-restore")
    container: Manifest = {
        "name": INIT_CONTAINER,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["garden-agent", "etcd", "check-data", *args],
        "securityContext": {"runAsUser": 0, "runAsGroup": 0},
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": [
            {"name": "data", "mountPath": ETCD_MOUNT},
            {"name": "work", "mountPath": WORK},
            *mounts,
        ],
        "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}},
    }
    return m.EtcdInit(container=container, volumes=(*volumes, {"name": "work", "emptyDir": {}}))
