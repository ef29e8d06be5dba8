"""GardenHook: a seed's Airflow connection turned into the provider's kube client and settings.

Two connection types reach a seed. A ``garden`` connection (this hook's, declared with
its form fields in `get_provider_info`) holds the credentials and, optionally, the
seed's provider namespace and toolbox image, so one Airflow can drive several seeds. A
``kubernetes`` connection (cncf-kubernetes') still works and takes both from
``[garden]``. Authentication is the cncf-kubernetes hook's for both (kubeconfig path or
content, in-cluster, context); this hook hands its ApiClient to `kube/` and does no CRUD
of its own. Its Test button (`test_connection`) checks what every task needs
(`kube/seed_check.py`).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook
from airflow.sdk import BaseHook
from kubernetes import client as k8s_client

from airflow_provider_garden.core.settings import GardenSettings
from airflow_provider_garden.hooks.settings import GARDEN_CONN_TYPE, for_connection, garden_settings
from airflow_provider_garden.kube.client import Backoff, KubeClient
from airflow_provider_garden.kube.seed_check import check_seed
from airflow_provider_garden.kube.shoots import Shoots

if TYPE_CHECKING:
    from airflow.sdk import Connection

#: One try per request and a short timeout: a Test button answers in seconds.
_TEST_BACKOFF = Backoff(attempts=1)
_TEST_TIMEOUT = 10.0


class GardenHook(BaseHook):
    """Access to the seed named by a ``garden`` (or ``kubernetes``) connection.

    :param kubernetes_conn_id: the seed's connection (default: ``[garden] kubernetes_conn_id``).
    :param settings: the settings to start from (default: ``[garden]`` as Airflow reads it).
    """

    conn_name_attr = "kubernetes_conn_id"
    default_conn_name = "kubernetes_default"
    conn_type = GARDEN_CONN_TYPE
    hook_name = "Garden seed"

    def __init__(
        self, kubernetes_conn_id: str | None = None, *, settings: GardenSettings | None = None
    ) -> None:
        super().__init__()
        self._base_settings = settings or garden_settings()
        self.kubernetes_conn_id = kubernetes_conn_id or self._base_settings.kubernetes_conn_id

    @cached_property
    def connection(self) -> Connection:
        # cncf-kubernetes' lookup: a missing `kubernetes_default` is an empty connection
        # (in-cluster or the default kubeconfig), as for its own hook.
        conn: Connection = KubernetesHook.get_connection(self.kubernetes_conn_id)
        return conn

    @cached_property
    def settings(self) -> GardenSettings:
        """The settings of this seed: what the connection sets replaces ``[garden]``'s."""
        return for_connection(self._base_settings, self.connection)

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

    def test_connection(self) -> tuple[bool, str]:
        """The Test button: is the seed ready for the provider's tasks, and if not, what is missing.

        Checks that the provider's CRDs are served, the CloudProfile is readable and pods
        may be created in the provider's namespace (SelfSubjectAccessReview).
        """
        try:
            namespace = self.settings.namespace
        except ValueError as err:  # a connection field that breaks its rule
            return False, str(err)
        try:
            kube = KubeClient(
                api_client=self._api_client(), backoff=_TEST_BACKOFF, timeout=_TEST_TIMEOUT
            )
            result = check_seed(kube, namespace)
        except Exception as err:  # the Test button reports; it never raises
            return False, f"seed not reachable with connection {self.kubernetes_conn_id!r}: {err}"
        if result.ok:
            return True, f"seed ready (namespace {namespace}): " + "; ".join(result.found)
        return False, f"seed not ready (namespace {namespace}): " + "; ".join(result.missing)
