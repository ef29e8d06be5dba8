"""What every shoot verb starts from: a seed client, the Shoot, its parsed spec."""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.controlplane.manifests import ControlPlane
from airflow_provider_garden.core.shoot_spec import ShootSpec, parse_shoot
from airflow_provider_garden.kube.client import KubeClient, Manifest
from airflow_provider_garden.kube.shoots import Shoots


@dataclass(frozen=True)
class ShootContext:
    kube: KubeClient
    shoots: Shoots
    shoot: Manifest
    spec: ShootSpec

    @property
    def control_plane(self) -> ControlPlane:
        return control_plane_of(self.spec)


def control_plane_of(spec: ShootSpec) -> ControlPlane:
    return ControlPlane(
        namespace=naming.controlplane_namespace(spec.project, spec.name),
        project=spec.project,
        shoot=spec.name,
        kubernetes_version="v" + spec.kubernetes_version.removeprefix("v"),
        pods_cidr=spec.networking.pods,
        services_cidr=spec.networking.services,
    )


def shoot_context(kubeconfig: str | None, project: str, name: str) -> ShootContext:
    kube = KubeClient.from_kubeconfig(kubeconfig)
    shoots = Shoots(kube)
    shoot = shoots.get(project, name)
    return ShootContext(kube=kube, shoots=shoots, shoot=shoot, spec=parse_shoot(shoot))
