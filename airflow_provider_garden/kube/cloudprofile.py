"""What the seed offers shoots: Kubernetes versions and machine images.

Gardener keeps this in a CloudProfile resource; here it is a ConfigMap in the
provider's namespace (`profile.json`), written by `garden install` (or the Helm
chart) so validation and maintenance read one list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from airflow_provider_garden.core.validation import Offer
from airflow_provider_garden.kube.client import KubeClient, Manifest

CONFIGMAP = "garden-cloudprofile"


@dataclass(frozen=True)
class CloudProfile:
    kubernetes_versions: tuple[str, ...]  # "1.32.13", newest first
    machine_images: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The seed's own networks (pods, services, nodes): shoot networks must not overlap them.
    seed_networks: tuple[str, ...] = ()

    def offer(self) -> Offer:
        """What a shoot's spec is validated against on this seed."""
        return Offer(
            offered_versions=self.kubernetes_versions,
            reserved_cidrs=self.seed_networks,
            offered_machine_images=self.machine_images,
        )

    def to_configmap(self, namespace: str) -> Manifest:
        body = {
            "kubernetesVersions": list(self.kubernetes_versions),
            "machineImages": {k: list(v) for k, v in self.machine_images.items()},
            "seedNetworks": list(self.seed_networks),
        }
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": CONFIGMAP, "namespace": namespace},
            "data": {"profile.json": json.dumps(body, indent=2, sort_keys=True)},
        }


def read(kube: KubeClient, namespace: str) -> CloudProfile:
    cm = kube.find("v1", "ConfigMap", CONFIGMAP, namespace)
    if cm is None:
        raise LookupError(
            f"ConfigMap {namespace}/{CONFIGMAP} is missing: run `garden install` against the seed"
        )
    body = json.loads(cm["data"]["profile.json"])
    return CloudProfile(
        kubernetes_versions=tuple(body["kubernetesVersions"]),
        machine_images={k: tuple(v) for k, v in body.get("machineImages", {}).items()},
        seed_networks=tuple(body.get("seedNetworks", ())),
    )
