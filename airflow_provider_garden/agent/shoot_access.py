"""Clients for a shoot's API server, from its admin kubeconfig.

The admin kubeconfig Secret (``garden-<project>/<name>.kubeconfig``) has two
kubeconfigs: ``kubeconfig`` names the in-seed Service (pods in the seed resolve
it), ``kubeconfig-external`` the address reachable from outside the cluster
network. An operator pod gets the Secret mounted; a shell run reads it through
the seed API with the caller's own credentials.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from pathlib import Path

import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from airflow_provider_garden.core import naming
from airflow_provider_garden.kube.client import Backoff, KubeClient


def in_seed() -> bool:
    """Whether this process runs in a pod of the seed (where Service names resolve)."""
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST"))


def kubeconfig_key() -> str:
    return "kubeconfig" if in_seed() else "kubeconfig-external"


def client_from_kubeconfig(
    text: bytes | str, *, timeout: float = 30.0, backoff: Backoff | None = None
) -> KubeClient:
    """A KubeClient for a kubeconfig given as text (kept in memory only)."""
    loaded = yaml.safe_load(text)
    if not isinstance(loaded, dict):
        raise ValueError("not a kubeconfig: expected a YAML mapping")

    configuration = k8s_client.Configuration()
    k8s_config.load_kube_config_from_dict(
        loaded, client_configuration=configuration, persist_config=False
    )
    return KubeClient(
        api_client=k8s_client.ApiClient(configuration=configuration),
        timeout=timeout,
        backoff=backoff or Backoff(),
    )


def shoot_client(
    seed: KubeClient, project: str, name: str, *, kubeconfig_file: str | None = None
) -> KubeClient:
    """The shoot's admin client: from a mounted kubeconfig file, else from its Secret."""
    if kubeconfig_file:
        return client_from_kubeconfig(Path(kubeconfig_file).read_bytes())
    secret = seed.get(
        "v1", "Secret", naming.kubeconfig_secret(name), naming.project_namespace(project)
    )
    data: Mapping[str, str] = secret.get("data") or {}
    key = kubeconfig_key()
    if key not in data:
        raise LookupError(
            f"Secret {naming.project_namespace(project)}/{naming.kubeconfig_secret(name)} "
            f"has no key {key!r}: reconcile the shoot first"
        )
    return client_from_kubeconfig(base64.b64decode(data[key]))
