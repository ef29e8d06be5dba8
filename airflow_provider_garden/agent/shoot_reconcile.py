"""`garden-agent shoot reconcile`: bring one shoot's control plane to its spec.

Runs in the seed (or from a shell with a kubeconfig). Every step is a named
task; names show up in the log and in `status.lastOperation.description`.
Re-running is a reconcile: existing certificates, data and objects are kept,
only what differs from the spec is changed.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_garden.agent import workers as pools
from airflow_provider_garden.agent.shoot_access import client_from_kubeconfig, kubeconfig_key
from airflow_provider_garden.core import naming
from airflow_provider_garden.core.controlplane import manifests as m
from airflow_provider_garden.core.controlplane import secrets as cps
from airflow_provider_garden.core.flow import Flow, FlowError, Progress, Task
from airflow_provider_garden.core.shoot_spec import Backup, SnapstoreKind, Worker, parse_shoot
from airflow_provider_garden.drivers import local as local_driver
from airflow_provider_garden.drivers.base import MachineState
from airflow_provider_garden.kube import lease
from airflow_provider_garden.kube.client import KubeClient, Manifest
from airflow_provider_garden.kube.rbac import controlplane_account
from airflow_provider_garden.kube.shoots import Shoots, condition, error_entry
from airflow_provider_garden.kube.workload import deployment_available, statefulset_ready

log = logging.getLogger(__name__)
WAIT = dt.timedelta(minutes=5)


@dataclass
class _Found:
    """What earlier tasks learned and later tasks need."""

    endpoints: cps.Endpoints | None = None
    secrets: dict[str, dict[str, bytes]] | None = None
    shoot_client: KubeClient | None = None
    machines: dict[str, list[MachineState]] | None = None


def reconcile(
    kube: KubeClient,
    shoots: Shoots,
    shoot: Manifest,
    cp: m.ControlPlane,
    *,
    holder: str,
    garden_namespace: str,
    backup: Backup | None = None,
) -> dict[str, Any]:
    project, name = cp.project, cp.shoot
    status = shoot.get("status") or {}
    last = status.get("lastOperation") or {}
    op = (
        "Create"
        if not last or (last.get("type") == "Create" and last.get("state") != "Succeeded")
        else "Reconcile"
    )
    found = _Found()
    workers = parse_shoot(shoot).workers
    annotations = shoot["metadata"].get("annotations") or {}

    def apply_all(objs: list[Manifest]) -> None:
        for obj in objs:
            kube.apply(obj)

    def deploy_apiserver_service() -> None:
        svc = kube.apply(m.apiserver_service(cp))
        found.endpoints = cps.Endpoints(
            namespace=cp.namespace,
            apiserver_cluster_ip=svc["spec"]["clusterIP"],
            shoot_kubernetes_ip=m.shoot_kubernetes_ip(cp.services_cidr),
            external_server=_external_server(kube, svc),
        )

    def deploy_secrets() -> None:
        assert found.endpoints is not None
        existing = {
            s["metadata"]["name"]: cps.decode(s.get("data"))
            for s in kube.list(
                "v1",
                "Secret",
                cp.namespace,
                label_selector="app.kubernetes.io/managed-by=airflow-provider-garden",
            )
        }
        changed = cps.plan_secrets(existing, found.endpoints, now=dt.datetime.now(dt.UTC))
        for secret_name, data in changed.items():
            kube.apply(m.secret(cp, secret_name, cps.encode(data)))
        log.info(
            "secrets: %d issued, %d kept",
            len(changed),
            len(existing) - len(changed.keys() & existing.keys()),
        )
        found.secrets = {**existing, **changed}

    def deploy_kubeconfig() -> None:
        assert found.endpoints is not None
        assert found.secrets is not None
        data = cps.admin_kubeconfigs(found.secrets, found.endpoints)
        kube.apply(
            m.secret(
                cp,
                naming.kubeconfig_secret(name),
                cps.encode(data),
                namespace=naming.project_namespace(project),
            )
        )

    def deploy_backup_infrastructure() -> None:
        for obj in controlplane_account(
            "garden-etcd", controlplane_namespace=cp.namespace, garden_namespace=garden_namespace
        ):
            kube.apply(obj)
        if backup is None:
            return
        if backup.store.kind is SnapstoreKind.LOCAL:
            kube.apply(m.backup_volume(cp))
        elif backup.store.secret_name:
            # Pods mount Secrets of their own namespace only: the user's store
            # credentials (in the project namespace) are copied next to etcd.
            source = kube.get(
                "v1", "Secret", backup.store.secret_name, naming.project_namespace(project)
            )
            kube.apply(m.secret(cp, m.BACKUP_STORE_SECRET, source.get("data") or {}))

    def shoot_client() -> KubeClient:
        if found.shoot_client is None:
            assert found.endpoints is not None
            assert found.secrets is not None
            data = cps.admin_kubeconfigs(found.secrets, found.endpoints)
            found.shoot_client = client_from_kubeconfig(data[kubeconfig_key()])
        return found.shoot_client

    def machine_driver() -> local_driver.LocalDriver:
        return local_driver.LocalDriver(
            shoot_api=shoot_client(),
            shoot=name,
            config=local_driver.LocalDriverConfig.from_annotations(annotations),
        )

    def deploy_machine_controller() -> None:
        apply_all(local_driver.controller_seed_manifests(cp))
        for obj in local_driver.controller_shoot_manifests():
            shoot_client().apply(obj)

    def wait_workers() -> None:
        found.machines = pools.observe(machine_driver(), workers)
        lacking = pools.pools_ready(found.machines, workers)
        if lacking:
            raise RuntimeError(f"worker pools without enough Ready machines: {lacking}")

    def wait_etcd() -> None:
        if not statefulset_ready(kube, cp.namespace, "etcd"):
            raise RuntimeError("etcd is not ready yet")

    def wait_apiserver() -> None:
        if not deployment_available(kube, cp.namespace, "kube-apiserver"):
            raise RuntimeError("kube-apiserver is not available yet")

    def wait_control_plane() -> None:
        missing = [
            d
            for d in ("kube-controller-manager", "kube-scheduler")
            if not deployment_available(kube, cp.namespace, d)
        ]
        if missing:
            raise RuntimeError(f"not available yet: {', '.join(missing)}")

    flow = Flow(
        name=f"{op} shoot {project}/{name}",
        tasks=[
            Task(name="Deploying namespace", fn=lambda: kube.apply(m.namespace(cp))),
            Task(
                name="Deploying kube-apiserver service",
                fn=deploy_apiserver_service,
                dependencies=["Deploying namespace"],
            ),
            Task(
                name="Deploying secrets",
                fn=deploy_secrets,
                dependencies=["Deploying kube-apiserver service"],
            ),
            Task(
                name="Deploying backup infrastructure",
                fn=deploy_backup_infrastructure,
                dependencies=["Deploying namespace"],
            ),
            Task(
                name="Deploying etcd",
                fn=lambda: apply_all([*m.etcd_services(cp), m.etcd(cp)]),
                dependencies=["Deploying secrets"],
            ),
            Task(
                name="Waiting until etcd is ready",
                fn=wait_etcd,
                dependencies=["Deploying etcd"],
                retry_timeout=WAIT,
                retry_interval=dt.timedelta(seconds=1),
            ),
            Task(
                name="Deploying kube-apiserver",
                fn=lambda: kube.apply(m.apiserver(cp)),
                dependencies=["Deploying secrets"],
            ),
            Task(
                name="Waiting until kube-apiserver is ready",
                fn=wait_apiserver,
                dependencies=["Deploying kube-apiserver", "Waiting until etcd is ready"],
                retry_timeout=WAIT,
                retry_interval=dt.timedelta(seconds=1),
            ),
            Task(
                name="Deploying kube-controller-manager",
                fn=lambda: kube.apply(m.controller_manager(cp)),
                dependencies=["Waiting until kube-apiserver is ready"],
            ),
            Task(
                name="Deploying kube-scheduler",
                fn=lambda: kube.apply(m.scheduler(cp)),
                dependencies=["Waiting until kube-apiserver is ready"],
            ),
            Task(
                name="Deploying admin kubeconfig",
                fn=deploy_kubeconfig,
                dependencies=["Waiting until kube-apiserver is ready"],
            ),
            Task(
                name="Waiting until control plane is healthy",
                fn=wait_control_plane,
                dependencies=["Deploying kube-controller-manager", "Deploying kube-scheduler"],
                retry_timeout=WAIT,
                retry_interval=dt.timedelta(seconds=1),
            ),
            Task(
                name="Deploying machine controller (kwok)",
                fn=deploy_machine_controller,
                dependencies=["Waiting until kube-apiserver is ready"],
                skip_if=not workers,
            ),
            Task(
                name="Reconciling worker pools",
                fn=lambda: pools.ensure_minimum(machine_driver(), workers),
                dependencies=["Deploying machine controller (kwok)"],
                skip_if=not workers,
            ),
            Task(
                name="Waiting until worker pools are ready",
                fn=wait_workers,
                dependencies=["Reconciling worker pools"],
                skip_if=not workers,
                retry_timeout=WAIT,
                retry_interval=dt.timedelta(seconds=2),
            ),
        ],
    )

    def on_progress(p: Progress) -> None:
        shoots.report(
            project,
            name,
            type_=op,
            state="Processing",
            progress=min(p.percent, 99),
            description=p.description,
        )

    with lease.held(
        kube,
        namespace=naming.project_namespace(project),
        name=naming.operation_lease(name),
        holder=holder,
    ):
        shoots.report(
            project, name, type_=op, state="Processing", progress=0, description="Starting"
        )
        try:
            flow.run(on_progress=on_progress, max_workers=2)
        except FlowError as err:
            shoots.report(
                project,
                name,
                type_=op,
                state="Error",
                progress=0,
                description=str(err),
                errors=[
                    error_entry(str(err.failed[0].error), [], task) for task in err.failed_tasks
                ],
                extra={
                    "conditions": _conditions(
                        healthy=False, message=str(err), nodes=_nodes(workers, found)
                    )
                },
            )
            raise
        shoots.report(
            project,
            name,
            type_=op,
            state="Succeeded",
            progress=100,
            description=f"{op} of shoot {project}/{name} succeeded",
            extra={
                "observedGeneration": shoot["metadata"].get("generation"),
                "kubernetesVersion": cp.kubernetes_version,
                "conditions": _conditions(
                    healthy=True,
                    message="all control-plane components are available",
                    nodes=_nodes(workers, found),
                ),
            },
        )
    return {
        "project": project,
        "name": name,
        "operation": op,
        "state": "Succeeded",
        "kubernetesVersion": cp.kubernetes_version,
        "controlPlaneNamespace": cp.namespace,
        "kubeconfigSecret": f"{naming.project_namespace(project)}/{naming.kubeconfig_secret(name)}",
    }


def _nodes(workers: Sequence[Worker], found: _Found) -> dict[str, str]:
    """EveryNodeReady from the machines the last task saw, or Unknown if none looked."""
    if not workers:
        return condition("EveryNodeReady", "True", "NoWorkers", "no machines are expected")
    if found.machines is None:
        return condition("EveryNodeReady", "Unknown", "NotObserved", "machines were not observed")
    return pools.every_node_ready(found.machines)


def _conditions(*, healthy: bool, message: str, nodes: dict[str, str]) -> list[dict[str, str]]:
    status, reason = ("True", "ComponentsAvailable") if healthy else ("False", "ReconcileFailed")
    return [
        condition("APIServerAvailable", status, reason, message),
        condition("ControlPlaneHealthy", status, reason, message),
        nodes,
        condition(
            "SystemComponentsHealthy",
            "True",
            "NoSystemComponents",
            "no system components are deployed",
        ),
    ]


def _external_server(kube: KubeClient, svc: Manifest) -> str:
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


def holder_identity() -> str:
    return socket.gethostname()
