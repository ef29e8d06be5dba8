"""etcd: its client and peer Services and a one-member StatefulSet with its data volume.

With ``spec.backup``, the etcd pod first runs the data check (``garden-agent etcd
check-data``, in the toolbox image): etcd does not start on a data directory that lost
what the newest good backup holds. Waiting for etcd reads that check's refusal from
the pod and ends at once with ERR_ETCD_DATA_LOST, naming the backup (a pod refused
under an older template, before autoRestore was set, is replaced instead).
"""

from __future__ import annotations

import logging
import time

from airflow_provider_garden.agent.components.seed_objects import Ref, SeedObjects, ref
from airflow_provider_garden.core.controlplane import etcd_pod
from airflow_provider_garden.core.controlplane import manifests as m
from airflow_provider_garden.core.error_codes import Cause, KnownCause
from airflow_provider_garden.core.etcd_data_check import refusals
from airflow_provider_garden.core.shoot_spec import Backup
from airflow_provider_garden.kube.client import KubeClient, Manifest
from airflow_provider_garden.kube.workload import statefulset_ready

log = logging.getLogger(__name__)
# How long a refused pod may take to go once its StatefulSet is scaled to 0.
RECREATE_WAIT_SECONDS = 120


class Etcd(SeedObjects):
    name = "etcd"

    def __init__(
        self,
        kube: KubeClient,
        cp: m.ControlPlane,
        *,
        backup: Backup | None = None,
        toolbox_image: str | None = None,
        shoot_uid: str | None = None,
    ) -> None:
        super().__init__(kube, cp)
        self.init = (
            etcd_pod.data_check(backup, toolbox_image, shoot_uid=shoot_uid or "")
            if backup and toolbox_image
            else None
        )

    def manifests(self) -> list[Manifest]:
        return [*m.etcd_services(self.cp), m.etcd(self.cp, self.init)]

    def owned(self) -> list[Ref]:
        # The StatefulSet leaves the claim of its volumeClaimTemplate behind: the data
        # volume is named here so destroy removes it after the StatefulSet.
        claim = ("v1", "PersistentVolumeClaim", m.ETCD_VOLUME_CLAIM, self.cp.namespace)
        return [claim, *(ref(obj) for obj in self.manifests())]

    def refused(self) -> None:
        """Raise KnownCause(ETCD_DATA_LOST) when the data check refused to start etcd; a
        refused pod of an older template is replaced instead, so the current one
        (autoRestore set since) runs."""
        sts = self.kube.find("apps/v1", "StatefulSet", "etcd", self.cp.namespace)
        found = refusals(sts or {}, self._pods())
        if found.outdated and sts is not None:
            log.info("etcd: replacing %s, refused under an older template", found.outdated)
            self._recreate_pods(int(sts["spec"].get("replicas", 1)))
        if found.current:
            raise KnownCause(Cause.ETCD_DATA_LOST, f"etcd in {self.cp.namespace}: {found.current}")

    def _pods(self) -> list[Manifest]:
        return self.kube.list("v1", "Pod", self.cp.namespace, label_selector="app=etcd")

    def _recreate_pods(self, replicas: int) -> None:
        """The StatefulSet controller never replaces a pod that is not ready, and
        garden-shoot may not delete pods (their lifecycle is the controllers'): scaled to
        0, the controller deletes them, ready or not; back at ``replicas`` it makes them
        from the current template (also when the wait ends early: then once they are gone)."""
        ns, scale = self.cp.namespace, ("apps/v1", "StatefulSet", "etcd")
        self.kube.merge_patch(*scale, {"spec": {"replicas": 0}}, ns)
        try:
            deadline = time.monotonic() + RECREATE_WAIT_SECONDS
            while self._pods() and time.monotonic() < deadline:
                time.sleep(2)
        finally:
            self.kube.merge_patch(*scale, {"spec": {"replicas": replicas}}, ns)

    def wait(self) -> None:
        if not statefulset_ready(self.kube, self.cp.namespace, "etcd"):
            self.refused()
            raise self.not_ready("etcd", "etcd is not ready yet")
