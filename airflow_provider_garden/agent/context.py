"""The control plane a shoot's spec describes: what reconcile, delete and restore act on."""

from __future__ import annotations

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.controlplane.manifests import ControlPlane
from airflow_provider_garden.core.shoot_spec import ShootSpec


def control_plane_of(spec: ShootSpec) -> ControlPlane:
    return ControlPlane(
        namespace=naming.controlplane_namespace(spec.project, spec.name),
        project=spec.project,
        shoot=spec.name,
        kubernetes_version="v" + spec.kubernetes_version.removeprefix("v"),
        pods_cidr=spec.networking.pods,
        services_cidr=spec.networking.services,
    )
