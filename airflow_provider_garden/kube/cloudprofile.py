"""What the seed offers shoots: Kubernetes versions and machine images.

Gardener keeps this in a CloudProfile resource; here it is a ConfigMap in the
provider's namespace (`profile.json`), written by `garden install` (or the Helm
chart) so validation and maintenance read one list. A Kubernetes version is a plain
string (supported) or ``{version, classification, expirationDate}``
(core/version_life.py).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_garden.core.validation import Offer
from airflow_provider_garden.core.version_life import VersionLife, Versions, parse_versions
from airflow_provider_garden.kube.client import KubeClient, Manifest

CONFIGMAP = "garden-cloudprofile"


@dataclass(frozen=True)
class CloudProfile:
    kubernetes_versions: tuple[str, ...]  # "1.32.13", newest first
    machine_images: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The seed's own networks (pods, services, nodes): shoot networks must not overlap them.
    seed_networks: tuple[str, ...] = ()
    # Kubernetes versions that are not simply supported (preview, deprecated, expired, or
    # with an expiration date); core/version_life.py
    kubernetes_life: tuple[VersionLife, ...] = ()

    @property
    def kubernetes(self) -> Versions:
        """Every offered Kubernetes version with its life cycle, newest first."""
        life = {v.version: v for v in self.kubernetes_life}
        return Versions(tuple(life.get(v, VersionLife(v)) for v in self.kubernetes_versions))

    def offer(self, at: dt.datetime | None = None) -> Offer:
        """What a shoot's spec is validated against on this seed at ``at`` (default now):
        an expired version is not offered; a preview one is, when asked for."""
        return Offer(
            offered_versions=self.kubernetes.usable(at or dt.datetime.now(dt.UTC)),
            reserved_cidrs=self.seed_networks,
            offered_machine_images=self.machine_images,
        )

    def to_configmap(self, namespace: str) -> Manifest:
        body = {
            "kubernetesVersions": self.kubernetes.to_json(),
            "machineImages": {k: list(v) for k, v in self.machine_images.items()},
            "seedNetworks": list(self.seed_networks),
        }
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": CONFIGMAP, "namespace": namespace},
            "data": {"profile.json": json.dumps(body, indent=2, sort_keys=True)},
        }


def from_json(body: Mapping[str, Any]) -> CloudProfile:
    """A profile from its JSON document (the ConfigMap's, or a file `garden install` reads);
    SpecError naming each bad version entry."""
    kubernetes = parse_versions(body["kubernetesVersions"], field="kubernetesVersions")
    life = kubernetes.items
    return CloudProfile(
        kubernetes_versions=kubernetes.names,
        machine_images={k: tuple(v) for k, v in body.get("machineImages", {}).items()},
        seed_networks=tuple(body.get("seedNetworks", ())),
        kubernetes_life=tuple(v for v in life if v.to_json() != v.version),
    )


def read(kube: KubeClient, namespace: str) -> CloudProfile:
    cm = kube.find("v1", "ConfigMap", CONFIGMAP, namespace)
    if cm is None:
        raise LookupError(
            f"ConfigMap {namespace}/{CONFIGMAP} is missing: run `garden install` against the seed"
        )
    return from_json(json.loads(cm["data"]["profile.json"]))
