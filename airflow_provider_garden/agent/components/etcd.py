"""etcd: its client and peer Services and a one-member StatefulSet with its data volume."""

from __future__ import annotations

from airflow_provider_garden.agent.components.seed_objects import Ref, SeedObjects, ref
from airflow_provider_garden.core.controlplane import manifests as m
from airflow_provider_garden.kube.client import Manifest
from airflow_provider_garden.kube.workload import statefulset_ready


class Etcd(SeedObjects):
    name = "etcd"

    def manifests(self) -> list[Manifest]:
        return [*m.etcd_services(self.cp), m.etcd(self.cp)]

    def owned(self) -> list[Ref]:
        # The StatefulSet leaves the claim of its volumeClaimTemplate behind: the data
        # volume is named here so destroy removes it after the StatefulSet.
        claim = ("v1", "PersistentVolumeClaim", m.ETCD_VOLUME_CLAIM, self.cp.namespace)
        return [claim, *(ref(obj) for obj in self.manifests())]

    def wait(self) -> None:
        if not statefulset_ready(self.kube, self.cp.namespace, "etcd"):
            raise self.not_ready("etcd", "etcd is not ready yet")
