"""The control plane's certificates and kubeconfigs, and the shoot's admin kubeconfig.

``ControlPlaneSecrets`` keeps every Secret that still fits (see
``core/controlplane/secrets.py``) and issues only what changed. ``AdminKubeconfig``
writes the people-facing kubeconfig into the project namespace and is how the
agent itself reaches the shoot's API (:class:`ShootAccess`).
"""

from __future__ import annotations

import datetime as dt
import logging

import urllib3

from airflow_provider_garden.agent.components.kube_apiserver import (
    KubeAPIServer,
    KubeAPIServerService,
)
from airflow_provider_garden.agent.components.seed_objects import Ref, SeedObjects
from airflow_provider_garden.agent.shoot_access import (
    client_from_kubeconfig,
    kubeconfig_key,
    shoot_client,
)
from airflow_provider_garden.core import naming
from airflow_provider_garden.core.component import NotReady
from airflow_provider_garden.core.controlplane import manifests as m
from airflow_provider_garden.core.controlplane import secrets as cps
from airflow_provider_garden.kube.client import KubeClient, Manifest
from airflow_provider_garden.kube.errors import ApiError

log = logging.getLogger(__name__)
MANAGED = "app.kubernetes.io/managed-by=airflow-provider-garden"


class ControlPlaneSecrets(SeedObjects):
    name = "secrets"

    def __init__(self, kube: KubeClient, cp: m.ControlPlane, service: KubeAPIServerService):
        super().__init__(kube, cp)
        self.service = service
        self._data: dict[str, dict[str, bytes]] | None = None
        self.issued: frozenset[str] = frozenset()  # Secret names written in this run

    def _existing(self) -> dict[str, Manifest]:
        found = self.kube.list("v1", "Secret", self.cp.namespace, label_selector=MANAGED)
        return {s["metadata"]["name"]: s for s in found}

    def deploy(self) -> None:
        existing = {name: cps.decode(s.get("data")) for name, s in self._existing().items()}
        changed = cps.plan_secrets(existing, self.service.endpoints, now=dt.datetime.now(dt.UTC))
        for secret_name, data in changed.items():
            self.kube.apply(m.secret(self.cp, secret_name, cps.encode(data)))
        log.info(
            "secrets: %d issued, %d kept",
            len(changed),
            len(existing) - len(changed.keys() & existing.keys()),
        )
        self._data = {**existing, **changed}
        self.issued = frozenset(changed)

    @property
    def data(self) -> dict[str, dict[str, bytes]]:
        if self._data is None:
            raise RuntimeError("the control-plane secrets were not deployed in this run")
        return self._data

    def owned(self) -> list[Ref]:
        # Whatever carries the label, except the backup store's copy (its own component).
        return [
            ("v1", "Secret", name, self.cp.namespace)
            for name in sorted(self._existing())
            if name != m.BACKUP_STORE_SECRET
        ]


class AdminKubeconfig(SeedObjects):
    """``<name>.kubeconfig`` in the project namespace: in-seed and external kubeconfigs."""

    name = "admin kubeconfig"

    def __init__(
        self,
        kube: KubeClient,
        cp: m.ControlPlane,
        service: KubeAPIServerService,
        secrets: ControlPlaneSecrets,
    ) -> None:
        super().__init__(kube, cp)
        self.service = service
        self.secrets = secrets
        self.kubeconfigs: dict[str, bytes] | None = None

    def _data(self) -> dict[str, bytes]:
        if self.kubeconfigs is None:
            self.kubeconfigs = cps.admin_kubeconfigs(self.secrets.data, self.service.endpoints)
        return self.kubeconfigs

    def manifests(self) -> list[Manifest]:
        _, _, name, namespace = self._ref()
        return [m.secret(self.cp, name, cps.encode(self._data()), namespace=namespace)]

    def owned(self) -> list[Ref]:
        return [self._ref()]

    def _ref(self) -> Ref:
        project_ns = naming.project_namespace(self.cp.project)
        return ("v1", "Secret", naming.kubeconfig_secret(self.cp.shoot), project_ns)

    def exists(self) -> bool:
        return self.kubeconfigs is not None or self.kube.find(*self._ref()) is not None


class ShootAccess:
    """The shoot's API for the agent: this run's admin kubeconfig, else its Secret."""

    def __init__(self, seed: KubeClient, admin: AdminKubeconfig, apiserver: KubeAPIServer):
        self.seed = seed
        self.admin = admin
        self.apiserver = apiserver
        self._client: KubeClient | None = None

    def client(self) -> KubeClient:
        if self._client is None:
            if self.admin.kubeconfigs is not None:
                self._client = client_from_kubeconfig(self.admin.kubeconfigs[kubeconfig_key()])
            else:
                cp = self.admin.cp
                self._client = shoot_client(self.seed, cp.project, cp.shoot)
        return self._client

    def wait_answering(self) -> None:
        """NotReady until the shoot's API answers the agent at its kubeconfig's address.

        A Deployment's readiness is the seed's view; this is the path every later step
        takes. A shoot made again under its name gets a new Service address, and the
        seed's DNS may hand out the old one for as long as it caches it.
        """
        try:
            self.client().raw("GET", "/readyz")
        except (ApiError, ConnectionError, urllib3.exceptions.HTTPError) as err:
            raise NotReady(f"the shoot's API does not answer yet: {err}") from None

    def reachable(self) -> bool:
        """Whether the shoot's API can answer: kube-apiserver available, kubeconfig present."""
        return self.apiserver.available() and self.admin.exists()
