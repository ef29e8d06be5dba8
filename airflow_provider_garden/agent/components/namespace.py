"""The shoot's control-plane namespace in the seed: first to come, last to go."""

from __future__ import annotations

from airflow_provider_garden.agent.components.seed_objects import SeedObjects
from airflow_provider_garden.core.controlplane import manifests as m
from airflow_provider_garden.kube.client import Manifest


class ControlPlaneNamespace(SeedObjects):
    name = "control-plane namespace"

    def manifests(self) -> list[Manifest]:
        return [m.namespace(self.cp)]
