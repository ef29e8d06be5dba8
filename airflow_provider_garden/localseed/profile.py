"""What the local seed offers its shoots (its CloudProfile)."""

from __future__ import annotations

from airflow_provider_garden.kube.cloudprofile import CloudProfile
from airflow_provider_garden.localseed import versions
from airflow_provider_garden.localseed.config import POD_CIDR, SERVICE_CIDR

# Shoot networks must stay clear of the seed's own pod and service ranges.
SEED_NETWORKS = (POD_CIDR, SERVICE_CIDR)
# Machine images of the local (kwok) driver: names and versions are labels only.
MACHINE_IMAGES: dict[str, tuple[str, ...]] = {"gardenlinux": ("1592.1", "1592.2")}


def local_profile() -> CloudProfile:
    return CloudProfile(
        kubernetes_versions=tuple(v.removeprefix("v") for v in versions.SHOOT_KUBERNETES_VERSIONS),
        machine_images=MACHINE_IMAGES,
        seed_networks=SEED_NETWORKS,
    )
