"""kube-apiserver: its Service (whose address the certificates name) and its Deployment."""

from __future__ import annotations

from airflow_provider_garden.agent.components.seed_objects import (
    ControlPlaneDeployment,
    SeedObjects,
)
from airflow_provider_garden.core.controlplane import manifests as m
from airflow_provider_garden.core.controlplane import secrets as cps
from airflow_provider_garden.kube.client import KubeClient, Manifest


class KubeAPIServerService(SeedObjects):
    """Deployed before the certificates: they carry its ClusterIP and external address."""

    name = "kube-apiserver service"

    def __init__(self, kube: KubeClient, cp: m.ControlPlane) -> None:
        super().__init__(kube, cp)
        self._endpoints: cps.Endpoints | None = None

    def manifests(self) -> list[Manifest]:
        return [m.apiserver_service(self.cp)]

    def deploy(self) -> None:
        svc = self.kube.apply(m.apiserver_service(self.cp))
        self._endpoints = cps.Endpoints(
            namespace=self.cp.namespace,
            apiserver_cluster_ip=svc["spec"]["clusterIP"],
            shoot_kubernetes_ip=m.shoot_kubernetes_ip(self.cp.services_cidr),
            external_server=external_server(self.kube, svc),
        )

    @property
    def endpoints(self) -> cps.Endpoints:
        if self._endpoints is None:
            raise RuntimeError("the kube-apiserver service was not deployed in this run")
        return self._endpoints


class KubeAPIServer(ControlPlaneDeployment):
    name = "kube-apiserver"

    def render(self) -> Manifest:
        return m.apiserver(self.cp)


def external_server(kube: KubeClient, svc: Manifest) -> str:
    """The address people outside the seed use: LoadBalancer, NodePort, else ClusterIP."""
    spec, ingress = (
        svc["spec"],
        ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [],
    )
    if spec.get("type") == "LoadBalancer" and ingress:
        return f"https://{ingress[0].get('hostname') or ingress[0].get('ip')}"
    if spec.get("type") == "NodePort":
        node_port = spec["ports"][0]["nodePort"]
        for node in kube.list("v1", "Node"):
            for addr in (node.get("status") or {}).get("addresses") or []:
                if addr["type"] == "InternalIP":
                    return f"https://{addr['address']}:{node_port}"
    return f"https://{spec['clusterIP']}"
