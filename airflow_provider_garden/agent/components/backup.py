"""What etcd's backups need beside it: the garden-etcd account, and the store.

The ``local`` store is a volume in the control-plane namespace; for ``s3`` the
user's store credentials are copied next to etcd, because pods mount Secrets of
their own namespace only.
"""

from __future__ import annotations

from airflow_provider_garden.agent.components.seed_objects import Ref, SeedObjects
from airflow_provider_garden.core import naming
from airflow_provider_garden.core.controlplane import manifests as m
from airflow_provider_garden.core.shoot_spec import Backup, SnapstoreKind
from airflow_provider_garden.kube.client import KubeClient, Manifest
from airflow_provider_garden.kube.rbac import controlplane_account

ACCOUNT = "garden-etcd"


class BackupInfrastructure(SeedObjects):
    name = "backup infrastructure"

    def __init__(
        self,
        kube: KubeClient,
        cp: m.ControlPlane,
        backup: Backup | None,
        *,
        garden_namespace: str | None,
    ) -> None:
        super().__init__(kube, cp)
        self.backup = backup
        self.garden_namespace = garden_namespace

    def _account(self) -> list[Manifest]:
        if self.garden_namespace is None:
            raise RuntimeError("deploying the backup account needs the garden namespace")
        return controlplane_account(
            ACCOUNT,
            controlplane_namespace=self.cp.namespace,
            garden_namespace=self.garden_namespace,
        )

    def manifests(self) -> list[Manifest]:
        objs = self._account()
        if self.backup is None:
            return objs
        if self.backup.store.kind is SnapstoreKind.LOCAL:
            objs.append(m.backup_volume(self.cp))
        elif self.backup.store.secret_name:
            source = self.kube.get(
                "v1",
                "Secret",
                self.backup.store.secret_name,
                naming.project_namespace(self.cp.project),
            )
            objs.append(m.secret(self.cp, m.BACKUP_STORE_SECRET, source.get("data") or {}))
        return objs

    def owned(self) -> list[Ref]:
        # Every store kind's objects: the spec may have changed since they were made.
        ns = self.cp.namespace
        return [
            ("v1", "ServiceAccount", ACCOUNT, ns),
            ("rbac.authorization.k8s.io/v1", "RoleBinding", ACCOUNT, ns),
            ("v1", "PersistentVolumeClaim", m.BACKUP_VOLUME_CLAIM, ns),
            ("v1", "Secret", m.BACKUP_STORE_SECRET, ns),
        ]
