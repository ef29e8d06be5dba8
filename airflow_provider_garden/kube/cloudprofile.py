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
from airflow_provider_garden.core.version_life import (
    Offering,
    VersionLife,
    Versions,
    parse_versions,
)
from airflow_provider_garden.kube.client import KubeClient, Manifest

CONFIGMAP = "garden-cloudprofile"


@dataclass(frozen=True)
class CloudProfile:
    kubernetes_versions: tuple[str, ...]  # "1.32.13", newest first
    machine_images: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The seed's own networks (pods, services, nodes): shoot networks must not overlap them.
    seed_networks: tuple[str, ...] = ()
    # Versions that are not simply supported (preview, deprecated, expired, or with an
    # expiration date), Kubernetes' and each machine image's; core/version_life.py
    kubernetes_life: tuple[VersionLife, ...] = ()
    image_life: dict[str, tuple[VersionLife, ...]] = field(default_factory=dict)

    @property
    def kubernetes(self) -> Versions:
        """Every offered Kubernetes version with its life cycle, newest first."""
        return _with_life(self.kubernetes_versions, self.kubernetes_life)

    @property
    def images(self) -> dict[str, Versions]:
        """Every machine image's versions with their life cycles."""
        return {
            name: _with_life(versions, self.image_life.get(name, ()))
            for name, versions in self.machine_images.items()
        }

    def offering(self, at: dt.datetime) -> Offering:
        """What maintenance may choose, and what shoots may stay on, at ``at``."""
        images = {name: v.choice(at) for name, v in self.images.items()}
        return Offering(self.kubernetes.choice(at), images)

    def offer(self, at: dt.datetime | None = None) -> Offer:
        """What a shoot's spec is validated against on this seed at ``at`` (default now):
        an expired version is not offered; a preview one is, when asked for."""
        now = at or dt.datetime.now(dt.UTC)
        return Offer(
            offered_versions=self.kubernetes.usable(now),
            reserved_cidrs=self.seed_networks,
            offered_machine_images={name: v.usable(now) for name, v in self.images.items()},
        )

    def to_configmap(self, namespace: str) -> Manifest:
        body = {
            "kubernetesVersions": self.kubernetes.to_json(),
            "machineImages": {name: v.to_json() for name, v in self.images.items()},
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
    images = {
        name: parse_versions(items, field=f"machineImages.{name}")
        for name, items in body.get("machineImages", {}).items()
    }
    return CloudProfile(
        kubernetes_versions=kubernetes.names,
        machine_images={name: v.names for name, v in images.items()},
        seed_networks=tuple(body.get("seedNetworks", ())),
        kubernetes_life=_not_plain(kubernetes),
        image_life={name: life for name, v in images.items() if (life := _not_plain(v))},
    )


def _with_life(versions: tuple[str, ...], life: tuple[VersionLife, ...]) -> Versions:
    known = {v.version: v for v in life}
    return Versions(tuple(known.get(v, VersionLife(v)) for v in versions))


def _not_plain(versions: Versions) -> tuple[VersionLife, ...]:
    """The entries that say more than "supported"."""
    return tuple(v for v in versions.items if v.to_json() != v.version)


def read(kube: KubeClient, namespace: str) -> CloudProfile:
    cm = kube.find("v1", "ConfigMap", CONFIGMAP, namespace)
    if cm is None:
        raise LookupError(
            f"ConfigMap {namespace}/{CONFIGMAP} is missing: run `garden install` against the seed"
        )
    return from_json(json.loads(cm["data"]["profile.json"]))
