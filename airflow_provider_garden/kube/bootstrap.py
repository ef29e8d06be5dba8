"""Install what the provider needs in a seed: CRDs, namespace, accounts, CloudProfile.

`garden install` runs this against any cluster; the Helm chart ships the same
objects for clusters managed with Helm.
"""

from __future__ import annotations

from functools import partial
from importlib import resources as pkg_resources

import yaml

from airflow_provider_garden.core.crds import CRDS
from airflow_provider_garden.core.seed_policy import POD_SECURITY_LABELS, admission_policy
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.cloudprofile import CloudProfile
from airflow_provider_garden.kube.rbac import ACCOUNTS


def crds() -> list[dict[str, object]]:
    """What core/crds/ defines, as `chart-sync` wrote it into the package."""
    folder = pkg_resources.files("airflow_provider_garden.kube") / "crds"
    return [yaml.safe_load((folder / crd.file).read_text()) for crd in CRDS]


def install(kube: KubeClient, *, namespace: str, profile: CloudProfile) -> None:
    for crd in crds():
        kube.apply(crd)
        name = str(crd["metadata"]["name"])  # type: ignore[index]
        kube.wait_for(
            f"CRD {name} Established", partial(_established, kube, name), timeout=60, interval=0.5
        )
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": POD_SECURITY_LABELS},
        }
    )
    for account in ACCOUNTS:
        for obj in account.manifests(namespace):
            kube.apply(obj)
    kube.apply(profile.to_configmap(namespace))
    for obj in admission_policy(namespace):  # after the accounts: it confines them
        kube.apply(obj)


def _established(kube: KubeClient, name: str) -> bool:
    crd = kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)
