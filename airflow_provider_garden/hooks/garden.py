"""GardenHook: an Airflow `kubernetes` connection turned into the provider's kube client.

Authentication is the cncf-kubernetes hook's (kubeconfig path or dict, in-cluster,
context); this hook only hands its ApiClient to `kube/`. It does no CRUD of its own.
"""

from __future__ import annotations

from functools import cached_property

from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook
from airflow.sdk import BaseHook
from kubernetes import client as k8s_client

from airflow_provider_garden.hooks.settings import garden_settings
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.shoots import Shoots


class GardenHook(BaseHook):
    """Access to the seed named by a `kubernetes` connection.

    :param kubernetes_conn_id: the seed's connection (default: ``[garden] kubernetes_conn_id``).
    """

    conn_name_attr = "kubernetes_conn_id"
    default_conn_name = "kubernetes_default"
    conn_type = "kubernetes"
    hook_name = "Garden seed"

    def __init__(self, kubernetes_conn_id: str | None = None) -> None:
        super().__init__()
        if kubernetes_conn_id is None:
            kubernetes_conn_id = garden_settings().kubernetes_conn_id
        self.kubernetes_conn_id = kubernetes_conn_id

    def _api_client(self) -> k8s_client.ApiClient:
        api: k8s_client.ApiClient = KubernetesHook(conn_id=self.kubernetes_conn_id).get_conn()
        return api

    @cached_property
    def kube(self) -> KubeClient:
        # A 401 re-reads the connection once: rotated credentials take effect mid-task.
        return KubeClient(api_client=self._api_client(), reload=self._api_client)

    @cached_property
    def shoots(self) -> Shoots:
        return Shoots(self.kube)
