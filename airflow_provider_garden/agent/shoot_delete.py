"""`garden-agent shoot delete`: remove what reconcile made, component by component.

Delete runs the same components as reconcile (``agent/components``), each
``destroy``-ed only after everything that needed it is gone, the reverse of the
order reconcile deployed them; the control-plane namespace goes last, then the
Shoot resource.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airflow_provider_garden.agent.components import WAIT, ShootComponents, shoot_components
from airflow_provider_garden.agent.context import control_plane_of
from airflow_provider_garden.agent.shoot_operation import operation_lease, run_reported
from airflow_provider_garden.core import naming
from airflow_provider_garden.core.component import Component, serving
from airflow_provider_garden.core.flow import Flow, Graph, TaskID
from airflow_provider_garden.core.shoot_spec import parse_shoot
from airflow_provider_garden.core.status import OperationType
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.kube.shoots import Shoots


def delete_flow(c: ShootComponents, *, name: str) -> Flow:
    """Delete as wiring: reconcile's dependencies reversed, each destroy awaited."""
    g = Graph(name)

    def destroyed(component: Component, after: Iterable[TaskID], *, skip_if: Any = False) -> TaskID:
        started = g.add(
            f"Deleting {component.name}", component.destroy, dependencies=after, skip_if=skip_if
        )
        return g.add(
            f"Waiting until nothing is left of {component.name}",
            component.wait_cleanup,
            dependencies=[started],
            skip_if=skip_if,
            retry=WAIT,
        )

    # Machines are deleted through the shoot's API, and their nodes collected by its
    # kube-controller-manager; when either is down, the nodes go with etcd.
    def machines_unreachable() -> bool:
        return not (c.has_workers and c.shoot_reachable() and serving(c.kube_controller_manager))

    pools = destroyed(c.worker_pools, [], skip_if=machines_unreachable)
    kwok = destroyed(c.machine_controller, [pools])
    members = destroyed(c.member_access, [])
    at_rest = destroyed(c.secrets_at_rest, [])
    admin = destroyed(c.admin_kubeconfig, [kwok, members, at_rest])
    # Foreground deletions in the shoot (nodes, kwok's RBAC) end only while the shoot's
    # garbage collector runs in kube-controller-manager: it goes after them.
    controllers = [
        destroyed(x, [pools, kwok]) for x in (c.kube_controller_manager, c.kube_scheduler)
    ]
    apiserver = destroyed(c.kube_apiserver, [admin, kwok, *controllers])
    etcd = destroyed(c.etcd, [apiserver])
    backup = destroyed(c.backup, [etcd])  # etcd's data check mounts the store
    # The backup keeps the etcd encryption keys with the snapshots: the Secrets go after.
    secrets = destroyed(c.secrets, [etcd, apiserver, backup])
    service = destroyed(c.apiserver_service, [secrets])
    destroyed(c.namespace, [service, backup])
    return g.compile()


def delete(
    kube: KubeClient, shoots: Shoots, project: str, name: str, *, holder: str
) -> dict[str, Any]:
    """Take the shoot's operation Lease, then read the Shoot and delete what it made."""
    result = {"project": project, "name": name}
    if shoots.find(project, name) is None:  # before the Lease: its namespace may be gone
        return {**result, "state": "Absent"}
    with operation_lease(kube, project=project, name=name, holder=holder):
        shoot = shoots.find(project, name)
        if shoot is None:  # deleted by the operation that held the Lease before us
            return {**result, "state": "Absent"}
        project_ns = naming.project_namespace(project)
        spec = parse_shoot(shoot)
        components = shoot_components(
            kube,
            shoot,
            control_plane_of(spec),
            workers=spec.workers,
            backup=spec.backup,
            garden_namespace=None,  # only reconcile binds roles in the install's namespace
        )
        flow = delete_flow(components, name=f"Delete shoot {project}/{name}")
        run_reported(
            shoots,
            project=project,
            name=name,
            operation=OperationType.DELETE,
            flow=flow,
            on_success=lambda: kube.delete(SHOOT_API_VERSION, "Shoot", name, project_ns),
        )
    return {**result, "state": "Deleted"}
