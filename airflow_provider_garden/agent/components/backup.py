"""What etcd's backups need beside it: the garden-etcd account, and the store.

The account may also hold the shoot's operation Lease (that one Lease, in the project
namespace), so a restore pod holds it itself while it works.

The ``local`` store is a volume in the control-plane namespace; for ``s3`` the
user's store credentials are copied next to etcd, because pods mount Secrets of
their own namespace only. Destroying it keeps the snapshots first (core/kept_backups.py):
a record in the project namespace, the etcd encryption keys beside it (a Secret), and,
for ``local``, the volume itself, moved there. Teardown deletes the control plane's
Secrets only after this.
"""

from __future__ import annotations

import datetime as dt
import logging

from airflow_provider_garden.agent.components.seed_objects import Ref, SeedObjects, ref
from airflow_provider_garden.core import naming
from airflow_provider_garden.core.controlplane import manifests as m
from airflow_provider_garden.core.error_codes import Cause, KnownCause
from airflow_provider_garden.core.kept_backups import KeptBackups, kept_claim_name, kept_key_name
from airflow_provider_garden.core.shoot_spec import Backup, SnapstoreKind
from airflow_provider_garden.core.store_space import format_size, parse_quantity
from airflow_provider_garden.kube import kept_backups
from airflow_provider_garden.kube.client import KubeClient, Manifest
from airflow_provider_garden.kube.errors import Forbidden, Invalid
from airflow_provider_garden.kube.rbac import controlplane_account, operation_lease_access

ACCOUNT = "garden-etcd"
log = logging.getLogger(__name__)


class BackupInfrastructure(SeedObjects):
    name = "backup infrastructure"

    def __init__(
        self,
        kube: KubeClient,
        cp: m.ControlPlane,
        backup: Backup | None,
        *,
        garden_namespace: str | None,
        shoot_uid: str | None = None,
    ) -> None:
        super().__init__(kube, cp)
        self.backup = backup
        self.garden_namespace = garden_namespace
        self.shoot_uid = shoot_uid
        self._growing_from: int | None = None  # the claim's size when deploy expands it

    def _account(self) -> list[Manifest]:
        if self.garden_namespace is None:
            raise RuntimeError("deploying the backup account needs the garden namespace")
        return [
            *controlplane_account(
                ACCOUNT,
                controlplane_namespace=self.cp.namespace,
                garden_namespace=self.garden_namespace,
            ),
            *self._lease_access(),
        ]

    def _lease_access(self) -> list[Manifest]:
        # A restore with from_uid reads that deleted shoot's kept keys (etcd_restore.py).
        return operation_lease_access(
            ACCOUNT,
            project=self.cp.project,
            name=self.cp.shoot,
            controlplane_namespace=self.cp.namespace,
            kept_uids=kept_backups.kept_uids(self.kube, self.cp.project, self.cp.shoot),
        )

    def manifests(self) -> list[Manifest]:
        objs = self._account()
        if self.backup is None:
            return objs
        if self.backup.store.kind is SnapstoreKind.LOCAL:
            objs.append(m.backup_volume(self.cp, self._volume_size()))
        elif self.backup.store.secret_name:
            source = self.kube.get(
                "v1",
                "Secret",
                self.backup.store.secret_name,
                naming.project_namespace(self.cp.project),
            )
            objs.append(m.secret(self.cp, m.BACKUP_STORE_SECRET, source.get("data") or {}))
        return objs

    def _volume_size(self) -> int:
        """The spec's size, or the claim's when that is larger: a claim never shrinks."""
        assert self.backup is not None
        wanted = self.backup.store.volume_bytes
        claim = self.kube.find(
            "v1", "PersistentVolumeClaim", m.BACKUP_VOLUME_CLAIM, self.cp.namespace
        )
        requested = ((claim or {}).get("spec") or {}).get("resources", {}).get("requests", {})
        current = parse_quantity(requested["storage"]) if "storage" in requested else 0
        if current > wanted:
            log.info(
                "%s/%s: the store's volume stays %s (spec.backup.store.volumeSize %s; "
                "a claim cannot shrink)",
                self.cp.project,
                self.cp.shoot,
                format_size(current),
                format_size(wanted),
            )
            return current
        self._growing_from = current if 0 < current < wanted else None
        return wanted

    def deploy(self) -> None:
        self._growing_from = None
        try:
            super().deploy()
        except (Forbidden, Invalid) as err:
            if self._growing_from is None:
                raise
            assert self.backup is not None
            raise KnownCause(
                Cause.INVALID_SPEC,
                f"spec.backup.store.volumeSize {format_size(self.backup.store.volume_bytes)}: "
                f"the store's volume {self.cp.namespace}/{m.BACKUP_VOLUME_CLAIM} stays "
                f"{format_size(self._growing_from)}, the seed refused to expand it: "
                f"{err.message}",
            ) from err

    def kept(self, now: dt.datetime) -> KeptBackups | None:
        """What a teardown keeps now; None: no backups, or a local store never written."""
        if self.backup is None or self.shoot_uid is None:
            return None
        earlier = kept_backups.find(self.kube, self.cp.project, self.cp.shoot, self.shoot_uid)
        if earlier is not None:
            return earlier  # an earlier try of this teardown wrote it: keep its time
        store = self.backup.store
        local = store.kind is SnapstoreKind.LOCAL
        if local and kept_backups.bound_volume(self.kube, self.cp.namespace) is None:
            return None  # the claim never bound: no snapshot was ever written
        return KeptBackups(
            project=self.cp.project,
            name=self.cp.shoot,
            uid=self.shoot_uid,
            kind=store.kind,
            prefix=store.prefix,
            bucket=store.bucket,
            secret_name=store.secret_name,
            claim=kept_claim_name(self.cp.shoot, self.shoot_uid) if local else None,
            # Its snapshots' Secrets read only with its keys (core/controlplane/encryption.py)
            key_secret=(
                kept_key_name(self.cp.shoot, self.shoot_uid)
                if kept_backups.encryption_keys(self.kube, self.cp.namespace) is not None
                else None
            ),
            deleted=now,
            keep_for=self.backup.retention_after_deletion,
        )

    def destroy(self) -> None:
        record = self.kept(dt.datetime.now(dt.UTC).replace(microsecond=0))
        if record is not None:
            kept_backups.keep(self.kube, record, controlplane_namespace=self.cp.namespace)
        super().destroy()

    def owned(self) -> list[Ref]:
        # Every store kind's objects: the spec may have changed since they were made.
        ns = self.cp.namespace
        return [
            *(ref(obj) for obj in self._lease_access()),
            ("v1", "ServiceAccount", ACCOUNT, ns),
            ("rbac.authorization.k8s.io/v1", "RoleBinding", ACCOUNT, ns),
            ("v1", "PersistentVolumeClaim", m.BACKUP_VOLUME_CLAIM, ns),
            ("v1", "Secret", m.BACKUP_STORE_SECRET, ns),
        ]
