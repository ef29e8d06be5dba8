"""`garden-agent shoot reconcile`: bring one shoot's control plane to its spec.

Runs in the seed (or from a shell with a kubeconfig). Every step is a named
task; names show up in the log and in `status.lastOperation.description`.
Re-running is a reconcile: existing certificates, data and objects are kept,
only what differs from the spec is changed.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_garden.agent import workers as pools
from airflow_provider_garden.agent.care import system_workloads
from airflow_provider_garden.agent.components import WAIT, ShootComponents, shoot_components
from airflow_provider_garden.agent.context import control_plane_of
from airflow_provider_garden.agent.shoot_access import shoot_client
from airflow_provider_garden.agent.shoot_operation import operation_lease, run_reported
from airflow_provider_garden.core import care, naming
from airflow_provider_garden.core.component import wait_all
from airflow_provider_garden.core.controlplane import manifests as m
from airflow_provider_garden.core.error_codes import Cause, KnownCause, ended_state, last_errors
from airflow_provider_garden.core.flow import Flow, Graph
from airflow_provider_garden.core.maintenance import (
    KUBERNETES_VERSION_FIELD,
    kubernetes_version_patch,
)
from airflow_provider_garden.core.naming import shoot_key
from airflow_provider_garden.core.project import missing_project, quota_problem, shoot_machines
from airflow_provider_garden.core.shoot_spec import Backup, Worker, parse_shoot
from airflow_provider_garden.core.spec_fields import FieldError, SpecError
from airflow_provider_garden.core.status import (
    Condition,
    ConditionStatus,
    ConditionType,
    LastOperation,
    OperationState,
    OperationType,
    ShootStatus,
)
from airflow_provider_garden.core.toolbox import TOOLBOX_IMAGE
from airflow_provider_garden.core.version_rules import running_version, version_change_problem
from airflow_provider_garden.drivers.base import MachineState
from airflow_provider_garden.kube import lease
from airflow_provider_garden.kube.client import KubeClient, Manifest
from airflow_provider_garden.kube.errors import Conflict
from airflow_provider_garden.kube.projects import Projects
from airflow_provider_garden.kube.shoots import Shoots

log = logging.getLogger(__name__)
EVERY_NODE_READY = ConditionType.EVERY_NODE_READY
TRUE = ConditionStatus.TRUE


def reconcile_flow(c: ShootComponents, *, name: str) -> Flow:
    """Reconcile as wiring: each component deployed after what it needs, then waited for."""
    g = Graph(name)
    no_workers = not c.has_workers
    checked = g.add("Checking the spec and the Secrets it names", c.check_spec)
    closed = g.add("Checking no etcd restore is open", c.restore_closed, dependencies=[checked])
    namespace = g.add("Deploying namespace", c.namespace.deploy, dependencies=[closed])
    service = g.add(
        "Deploying kube-apiserver service", c.apiserver_service.deploy, dependencies=[namespace]
    )
    secrets = g.add("Deploying secrets", c.secrets.deploy, dependencies=[service])
    # etcd's data check mounts the snapshot store: the store comes first.
    backup = g.add("Deploying backup infrastructure", c.backup.deploy, dependencies=[namespace])
    etcd = g.add("Deploying etcd", c.etcd.deploy, dependencies=[secrets, backup])
    etcd_ready = g.add("Waiting until etcd is ready", c.etcd.wait, dependencies=[etcd], retry=WAIT)
    apiserver = g.add("Deploying kube-apiserver", c.kube_apiserver.deploy, dependencies=[secrets])
    apiserver_ready = g.add(
        "Waiting until kube-apiserver is ready",
        c.kube_apiserver.wait,
        dependencies=[apiserver, etcd_ready],
        retry=WAIT,
    )
    controllers = [c.kube_controller_manager, c.kube_scheduler]
    deployed = [
        g.add(f"Deploying {x.name}", x.deploy, dependencies=[apiserver_ready]) for x in controllers
    ]
    healthy = g.add(
        "Waiting until control plane is healthy",
        lambda: wait_all(controllers),
        dependencies=deployed,
        retry=WAIT,
    )
    admin = g.add(
        "Deploying admin kubeconfig", c.admin_kubeconfig.deploy, dependencies=[apiserver_ready]
    )
    # Everything after this talks to the shoot's API through the admin kubeconfig.
    answers = g.add(
        "Waiting until the shoot's API answers", c.shoot_answers, dependencies=[admin], retry=WAIT
    )
    # Members' short-lived certificates name their role's group; the shoot binds it.
    g.add("Deploying project member access", c.member_access.deploy, dependencies=[answers])
    g.add(
        "Encrypting the shoot's Secrets at rest", c.secrets_at_rest.deploy, dependencies=[answers]
    )
    kwok = g.add(
        "Deploying machine controller (kwok)",
        c.machine_controller.deploy,
        dependencies=[answers],
        skip_if=no_workers,
    )
    kwok_ready = g.add(
        "Waiting until machine controller (kwok) is ready",
        c.machine_controller.wait,
        dependencies=[kwok],
        skip_if=no_workers,
        retry=WAIT,
    )
    pools = g.add(
        "Reconciling worker pools", c.worker_pools.deploy, dependencies=[kwok], skip_if=no_workers
    )
    g.add(
        "Waiting until worker pools are ready",
        c.worker_pools.wait,
        # kube-controller-manager lifts a new node's not-ready taint (and collects
        # deleted nodes): pools need it.
        dependencies=[pools, kwok_ready, healthy],
        skip_if=no_workers,
        retry=WAIT,
    )
    return g.compile()


def reconcile(
    kube: KubeClient,
    shoots: Shoots,
    project: str,
    name: str,
    *,
    holder: str,
    garden_namespace: str,
    desired: Manifest | None = None,
    kubernetes_version: str | None = None,
    planned_from: str | None = None,
    toolbox_image: str = TOOLBOX_IMAGE,
) -> dict[str, Any]:
    """Take the shoot's operation Lease, then read the Shoot and apply it.

    Read under the Lease, the spec applied is the newest: a change made while
    another operation ran is not overwritten by one read before it. The
    ``desired`` Shoot (ShootCreate's spec) is written under the Lease, and so is
    a new ``kubernetes_version`` (maintenance's patch update), as a
    compare-and-swap against ``planned_from``; the spec is then applied as the
    API returned it. Only the operation holding the Lease changes the spec.
    """
    if desired is not None:
        _check_desired(desired, project, name)  # before the Lease: nothing to wait for
    with operation_lease(kube, project=project, name=name, holder=holder):
        if desired is None:
            shoot = shoots.get(project, name)
        else:
            _check_version_change(shoots, desired)
            projects = Projects(kube, provider_namespace=garden_namespace)
            shoot = apply_within_quota(kube, shoots, projects, desired, holder=holder)
        if kubernetes_version:
            shoot = _set_kubernetes_version(shoots, shoot, kubernetes_version, planned_from)
        spec = parse_shoot(shoot)
        return reconcile_held(
            kube,
            shoots,
            shoot,
            control_plane_of(spec),
            garden_namespace=garden_namespace,
            backup=spec.backup,
            toolbox_image=toolbox_image,
        )


def _check_desired(desired: Manifest, project: str, name: str) -> None:
    """The Shoot to write is this shoot's and valid (SpecError naming each bad field)."""
    meta = desired.get("metadata") or {}
    wrong = [
        FieldError(f"metadata.{field}", f"must be {want!r} (this pod's shoot), not {got!r}")
        for field, want in (("name", name), ("namespace", naming.project_namespace(project)))
        if (got := meta.get(field)) != want
    ]
    if wrong:
        raise SpecError(f"Shoot {project}/{name}", wrong)
    parse_shoot(desired)


def _check_version_change(shoots: Shoots, desired: Manifest) -> None:
    """A stored shoot moves only forward, one minor at a time (the caller holds the Lease,
    so what runs cannot change before the write)."""
    project, name = shoot_key(desired).split("/", 1)
    stored = shoots.find(project, name)
    if stored is None:
        return
    problem = version_change_problem(
        running_version(stored), str(desired["spec"]["kubernetes"]["version"])
    )
    if problem is not None:
        err = SpecError(f"Shoot {project}/{name}", [problem])
        _report_refusal(shoots, stored, "Checking the version change", err)
        raise err


def apply_within_quota(
    kube: KubeClient, shoots: Shoots, projects: Projects, desired: Manifest, *, holder: str
) -> Manifest:
    """Apply ``desired`` if its project's quota has room, counting and writing while
    holding the project's quota Lease: shoots created at once are counted one after the
    other, so none passes the quota by a race (the worker's earlier check only fails fast)."""
    project, name = shoot_key(desired).split("/", 1)
    with lease.held(
        kube,
        namespace=naming.project_namespace(project),
        name=naming.project_quota_lease(),
        holder=holder,
        wait=lease.OPERATION_WAIT,
    ):
        found = projects.find(project)
        problem = (
            missing_project(project)
            if found is None
            else quota_problem(
                found,
                projects.machines_by_shoot(found),
                shoot=name,
                machines=shoot_machines(desired.get("spec") or {}),
            )
        )
        if problem is None:
            return shoots.apply(desired)
    refusal = KnownCause(Cause.PROJECT_QUOTA if found else Cause.INVALID_SPEC, problem)
    existing = shoots.find(project, name)
    if existing is not None:  # a grown spec refused: the Shoot says why
        _report_refusal(shoots, existing, "Applying the spec", refusal)
    raise refusal


def _report_refusal(shoots: Shoots, shoot: Manifest, step: str, err: Exception) -> None:
    """Report ``shoot``'s operation ended by ``err`` (its code read from it) before any work."""
    project, name = shoot_key(shoot).split("/", 1)
    errors = last_errors([(step, err)])
    shoots.report(
        project,
        name,
        type_=operation_type(ShootStatus.from_shoot(shoot).last_operation),
        state=ended_state(errors),
        progress=0,
        description=str(err),
        errors=errors,
    )


def _set_kubernetes_version(
    shoots: Shoots, shoot: Manifest, version: str, planned_from: str | None
) -> Manifest:
    """Write ``version`` into the spec (the caller holds the Lease); a spec changed since
    the update was planned, or since it was read (409), is refused naming the field and
    reported Failed on the Shoot: a retry would find the same."""
    project, name = shoot_key(shoot).split("/", 1)
    try:
        patch = kubernetes_version_patch(shoot, version, planned_from=planned_from)
        if patch is None:
            return shoot
        current = shoot["spec"]["kubernetes"]["version"]
        log.info("%s: %s -> %s (holding the Lease)", KUBERNETES_VERSION_FIELD, current, version)
        try:
            return shoots.patch_spec(project, name, patch)
        except Conflict:
            raise SpecError(
                f"Shoot {project}/{name}",
                [
                    FieldError(
                        KUBERNETES_VERSION_FIELD,
                        f"the Shoot changed while {version} was being written (409 Conflict); "
                        "not overwritten",
                    )
                ],
            ) from None
    except SpecError as err:
        _report_refusal(shoots, shoot, f"Writing {KUBERNETES_VERSION_FIELD}", err)
        raise


def reconcile_held(
    kube: KubeClient,
    shoots: Shoots,
    shoot: Manifest,
    cp: m.ControlPlane,
    *,
    garden_namespace: str,
    backup: Backup | None = None,
    toolbox_image: str = TOOLBOX_IMAGE,
) -> dict[str, Any]:
    """Reconcile ``shoot`` as read while holding its operation Lease; ``toolbox_image``
    runs etcd's data check."""
    project, name = cp.project, cp.shoot
    op = operation_type(ShootStatus.from_shoot(shoot).last_operation)
    workers = parse_shoot(shoot).workers
    components = shoot_components(
        kube,
        shoot,
        cp,
        workers=workers,
        backup=backup,
        garden_namespace=garden_namespace,
        toolbox_image=toolbox_image,
    )
    pools_ = components.worker_pools
    flow = reconcile_flow(components, name=f"{op} shoot {project}/{name}")

    def succeeded() -> None:
        shoots.report(
            project,
            name,
            type_=op,
            state=OperationState.SUCCEEDED,
            progress=100,
            description=f"{op} of shoot {project}/{name} succeeded",
            observed_generation=shoot["metadata"].get("generation"),
            kubernetes_version=cp.kubernetes_version,
            conditions=_observed_by_reconcile(
                kube, project, name, nodes=_nodes(workers, pools_.machines)
            ),
        )

    run_reported(
        shoots,
        project=project,
        name=name,
        operation=op,
        flow=flow,
        on_success=succeeded,
        # A failure observed the machines, if it got that far; the other conditions
        # keep what was last observed of them (care observes them every run).
        conditions_on_failure=lambda err: [_nodes(workers, pools_.machines)],
    )
    return {
        "project": project,
        "name": name,
        "operation": op.value,
        "state": OperationState.SUCCEEDED.value,
        "kubernetesVersion": cp.kubernetes_version,
        "controlPlaneNamespace": cp.namespace,
        "kubeconfigSecret": f"{naming.project_namespace(project)}/{naming.kubeconfig_secret(name)}",
    }


def operation_type(last: LastOperation | None) -> OperationType:
    """Create until a Create has succeeded once; every later run is a Reconcile."""
    if last is None or (last.type is OperationType.CREATE and not last.succeeded):
        return OperationType.CREATE
    return OperationType.RECONCILE


def _nodes(
    workers: Sequence[Worker], machines: Mapping[str, Sequence[MachineState]] | None
) -> Condition:
    """EveryNodeReady from the machines the last task saw, or Unknown if none looked."""
    if not workers:
        return _condition(EVERY_NODE_READY, TRUE, "NoWorkers", "no machines are expected")
    if machines is None:
        return _condition(
            EVERY_NODE_READY, ConditionStatus.UNKNOWN, "NotObserved", "machines were not observed"
        )
    return pools.node_readiness(machines)


def _observed_by_reconcile(
    kube: KubeClient, project: str, name: str, *, nodes: Condition
) -> list[Condition]:
    """What a successful reconcile saw: its waits saw the API server and every control-plane
    component ready, and it looks at the shoot's kube-system now (as care does)."""
    try:
        system = care.Observation(system=system_workloads(shoot_client(kube, project, name)))
    except Exception as err:  # not observed is Unknown, never True
        system = care.Observation(system_error=f"listing kube-system: {err}"[:300])
    return [
        _condition(
            ConditionType.API_SERVER_AVAILABLE,
            TRUE,
            "ReconcileSawReady",
            "kube-apiserver became ready while reconcile waited for it",
        ),
        _condition(
            ConditionType.CONTROL_PLANE_HEALTHY,
            TRUE,
            "ReconcileSawReady",
            "etcd, kube-apiserver, kube-controller-manager, kube-scheduler became ready "
            "while reconcile waited for them",
        ),
        nodes,
        care.system_components_healthy(system),
    ]


def _condition(
    type_: ConditionType, status: ConditionStatus, reason: str, message: str
) -> Condition:
    return Condition(type=type_, status=status, reason=reason, message=message)


def holder_identity() -> str:
    return socket.gethostname()
