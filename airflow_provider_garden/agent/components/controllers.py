"""kube-controller-manager and kube-scheduler: Deployments that talk to kube-apiserver only."""

from __future__ import annotations

from airflow_provider_garden.agent.components.seed_objects import ControlPlaneDeployment
from airflow_provider_garden.core.controlplane import manifests as m
from airflow_provider_garden.kube.client import Manifest


class KubeControllerManager(ControlPlaneDeployment):
    name = "kube-controller-manager"

    def render(self) -> Manifest:
        return m.controller_manager(self.cp)


class KubeScheduler(ControlPlaneDeployment):
    name = "kube-scheduler"

    def render(self) -> Manifest:
        return m.scheduler(self.cp)
