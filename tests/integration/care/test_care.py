"""Shoot care on the local seed: the garden_care DAG's one pod observes a real shoot.

One shoot (one pool of one kwok machine) is shared by the module; each test breaks one
real thing in its control plane (through the seed API, as an outage would) or inside
the shoot (through its API or the local driver), runs the DAG with ``dag.test()``
(real Airflow task, real pod under the garden-care account), then repairs it and sees
the shoot judged healthy again, for the tests after it.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag

from airflow_provider_garden.agent.care import CareTarget, Options, care_fleet
from airflow_provider_garden.agent.shoot_access import client_from_kubeconfig
from airflow_provider_garden.core import care, naming
from airflow_provider_garden.core.shoot_spec import Worker, parse_shoot
from airflow_provider_garden.core.status import (
    Condition,
    ConditionStatus,
    ConditionType,
    Constraint,
    ConstraintType,
    ErrorCode,
    ShootStatus,
)
from airflow_provider_garden.drivers.base import LABEL_POOL
from airflow_provider_garden.drivers.local import (
    NODE_NOT_READY,
    LocalDriver,
    LocalDriverConfig,
    inject_not_ready,
)
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.kube.shoots import Shoots
from airflow_provider_garden.localseed.profile import local_profile

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("airflow_seed_connection")]
DAGS = Path(__file__).resolve().parents[3] / "dags"
PROJECT, NAME = "care", "c1"
CONTROL_PLANE = naming.controlplane_namespace(PROJECT, NAME)
CP, API = ConditionType.CONTROL_PLANE_HEALTHY, ConditionType.API_SERVER_AVAILABLE
NODES, SYSTEM = ConditionType.EVERY_NODE_READY, ConditionType.SYSTEM_COMPONENTS_HEALTHY
HIBERNATION = ConstraintType.HIBERNATION_POSSIBLE
MAINTENANCE = ConstraintType.MAINTENANCE_PRECONDITIONS_SATISFIED
TRUE, FALSE = ConditionStatus.TRUE, ConditionStatus.FALSE
PROGRESSING = ConditionStatus.PROGRESSING
POOL = "pool-a"
IMAGE, VERSIONS = next(iter(local_profile().machine_images.items()))
# One kwok machine: EveryNodeReady judges a real pool, kube-system pods have a node.
WORKERS = [
    {
        "name": POOL,
        "machine": {"type": "local", "image": {"name": IMAGE, "version": VERSIONS[0]}},
        "minimum": 1,
        "maximum": 2,
    }
]


@pytest.fixture(scope="module")
def bundled() -> dict[str, Any]:
    return DagBag(dag_folder=str(DAGS)).dags


@pytest.fixture(scope="module")
def shoot(seed: KubeClient, bundled: dict[str, Any], shoot_cleanup: list[tuple[str, str]]) -> None:
    shoot_cleanup.append((PROJECT, NAME))
    run = bundled["garden_provision"].test(
        run_conf={"project": PROJECT, "name": NAME, "workers": WORKERS}
    )
    assert run.state == "success"


@pytest.fixture(scope="module")
def shoot_api(seed: KubeClient, shoot: None) -> KubeClient:
    """The shoot's own API, as the host reaches it (its admin kubeconfig)."""
    secret = seed.get(
        "v1", "Secret", naming.kubeconfig_secret(NAME), naming.project_namespace(PROJECT)
    )
    return client_from_kubeconfig(base64.b64decode(secret["data"]["kubeconfig-external"]))


def care_run(bundled: dict[str, Any], **thresholds: float) -> None:
    """One garden_care run for this module's project; thresholds in seconds."""
    run = bundled["garden_care"].test(
        run_conf={"project": PROJECT, "thresholds": thresholds, "parallelism": 2}
    )
    assert run.state == "success"


def stored(seed: KubeClient) -> tuple[ShootStatus, dict[str, str]]:
    shoot = seed.get(SHOOT_API_VERSION, "Shoot", NAME, naming.project_namespace(PROJECT))
    return ShootStatus.from_shoot(shoot), shoot["metadata"].get("labels") or {}


def condition(seed: KubeClient, kind: ConditionType) -> Condition:
    found = stored(seed)[0].condition(kind)
    assert found is not None, f"{kind} was not written"
    return found


def scale(seed: KubeClient, kind: str, name: str, replicas: int) -> None:
    seed.merge_patch("apps/v1", kind, name, {"spec": {"replicas": replicas}}, CONTROL_PLANE)


def wait_ready(seed: KubeClient, kind: str, name: str) -> None:
    seed.wait_for(
        f"{kind} {name} ready",
        lambda: (
            (seed.get("apps/v1", kind, name, CONTROL_PLANE).get("status") or {}).get(
                "readyReplicas", 0
            )
            >= 1
        ),
        timeout=180,
    )


def constraint(seed: KubeClient, kind: ConstraintType) -> Constraint:
    found = stored(seed)[0].constraint(kind)
    assert found is not None, f"{kind} was not written"
    return found


def label(seed: KubeClient) -> str:
    return stored(seed)[1][care.STATUS_LABEL]


# --- inside the shoot ------------------------------------------------------------------
def pool_nodes(api: KubeClient) -> list[dict[str, Any]]:
    return api.list("v1", "Node", label_selector=f"{LABEL_POOL}={POOL}")


def is_ready(node: dict[str, Any]) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def wait_node(api: KubeClient, name: str, *, ready: bool) -> None:
    api.wait_for(
        f"node {name} {'Ready' if ready else 'NotReady'}",
        lambda: is_ready(api.get("v1", "Node", name)) is ready,
        timeout=120,
        interval=0.5,
    )


def local_driver(seed: KubeClient, api: KubeClient) -> tuple[LocalDriver, Worker]:
    """The shoot's machine driver, as reconcile and machine health make it, and its pool."""
    resource = Shoots(seed).get(PROJECT, NAME)
    config = LocalDriverConfig.from_annotations(resource["metadata"].get("annotations"))
    [worker] = parse_shoot(resource).workers
    return LocalDriver(shoot_api=api, shoot=NAME, config=config), worker


ADDON = "care-addon"  # a kube-system workload of the shoot, as an addon's would be
NOWHERE = {"care-test.garden.airflow.io/nowhere": "true"}  # no node has this label


def addon() -> dict[str, Any]:
    labels = {"app": ADDON}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": ADDON, "namespace": "kube-system"},
        "spec": {
            "replicas": 1,
            # the old pod goes before the new one comes: a broken template is 0/1 ready
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{"name": "addon", "image": "registry.k8s.io/pause:3.10"}],
                    "terminationGracePeriodSeconds": 1,
                },
            },
        },
    }


def node_selector(selector: dict[str, str] | None) -> dict[str, Any]:
    """A merge patch of the addon's pod template (None: no selector)."""
    return {"spec": {"template": {"spec": {"nodeSelector": selector}}}}


def wait_addon(api: KubeClient, *, ready: int) -> None:
    def settled() -> bool:
        d = api.get("apps/v1", "Deployment", ADDON, "kube-system")
        status = d.get("status") or {}
        return bool(
            status.get("observedGeneration", 0) >= d["metadata"]["generation"]
            and status.get("updatedReplicas", 0) == 1
            and status.get("readyReplicas", 0) == ready
        )

    api.wait_for(f"Deployment kube-system/{ADDON} {ready}/1 ready", settled, timeout=120)


def webhook_configuration(kind: str, name: str, resource: str, policy: str) -> dict[str, Any]:
    """One webhook on CREATE of ``resource`` whose backend does not exist (a policy
    engine uninstalled without its webhook): with ``policy`` Fail it blocks every such
    create in the shoot, so a test keeps it for seconds."""
    group = "" if resource == "pods" else "apps"
    hook: dict[str, Any] = {
        "name": f"{resource}.{name}.care-test.garden.airflow.io",
        "failurePolicy": policy,
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
        "clientConfig": {
            "service": {"namespace": "kube-system", "name": "care-test-absent", "path": "/"}
        },
        "rules": [
            {
                "apiGroups": [group],
                "apiVersions": ["v1"],
                "operations": ["CREATE"],
                "resources": [resource],
            }
        ],
    }
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": name},
        "webhooks": [hook],
    }


def test_garden_care_is_one_task_that_judges_a_healthy_shoot_healthy(
    seed: KubeClient, bundled: dict[str, Any], shoot: None
) -> None:
    dag = bundled["garden_care"]
    assert [t.task_id for t in dag.tasks] == ["care"]
    assert dag.max_active_runs == 1
    care_run(bundled)
    status, labels = stored(seed)
    assert {c.type: c.status for c in status.conditions} == {t: TRUE for t in ConditionType}
    assert condition(seed, API).reason == "HealthzRequestSucceeded"  # care's, not reconcile's
    assert {c.type: c.status for c in status.constraints} == {t: TRUE for t in ConstraintType}
    assert labels[care.STATUS_LABEL] == "healthy"


def test_scheduler_scaled_to_zero_is_unhealthy_within_two_runs_and_healthy_once_back(
    seed: KubeClient, bundled: dict[str, Any], shoot: None
) -> None:
    care_run(bundled)
    before = condition(seed, CP)
    assert before.status is TRUE
    timeline = [(before.status, before.last_transition_time)]
    scale(seed, "Deployment", "kube-scheduler", 0)
    try:
        for _ in range(2):
            care_run(bundled, ControlPlaneHealthy=1)
            c = condition(seed, CP)
            timeline.append((c.status, c.last_transition_time))
        assert [s for s, _ in timeline] == [TRUE, PROGRESSING, FALSE]
        assert "Deployment kube-scheduler is scaled to 0" in c.message
        assert stored(seed)[1][care.STATUS_LABEL] == "unhealthy"
        care_run(bundled, ControlPlaneHealthy=1)  # stays False: its transition time stays
        c = condition(seed, CP)
        timeline.append((c.status, c.last_transition_time))
    finally:
        scale(seed, "Deployment", "kube-scheduler", 1)
    wait_ready(seed, "Deployment", "kube-scheduler")
    for _ in range(2):
        care_run(bundled, ControlPlaneHealthy=1)
        c = condition(seed, CP)
        timeline.append((c.status, c.last_transition_time))
    assert [s for s, _ in timeline] == [TRUE, PROGRESSING, FALSE, FALSE, TRUE, TRUE]
    times = [t for _, t in timeline]
    # the transition time moves exactly where the status flips
    for i in range(1, len(timeline)):
        flipped = timeline[i][0] is not timeline[i - 1][0]
        assert (times[i] != times[i - 1]) is flipped, timeline
    assert stored(seed)[1][care.STATUS_LABEL] == "healthy"


def test_each_shoot_is_handed_to_the_hooks_once_after_observation(
    seed: KubeClient, shoot: None
) -> None:
    seen: list[CareTarget] = []

    def record(target: CareTarget) -> None:
        seen.append(target)

    def broken(_: CareTarget) -> None:
        raise RuntimeError("machine health exploded")

    options = Options(thresholds=care.DEFAULT_THRESHOLDS, parallelism=2, project=PROJECT)
    result = care_fleet(seed, Shoots(seed), options, hooks=(record, broken))
    [target] = seen
    assert (target.spec.project, target.spec.name) == (PROJECT, NAME)
    assert target.observation.readyz == "ok"
    assert target.shoot_api is not None
    assert target.shoot_api.list("v1", "Namespace")  # the hook can use the shoot's API
    assert result["errorCount"] == 1
    assert "machine health exploded" in result["errors"][0]
    # the hook's failure did not stop the write
    assert stored(seed)[1][care.STATUS_LABEL] == "healthy"


def test_an_unready_kube_system_workload_makes_system_components_unhealthy_naming_it(
    seed: KubeClient, bundled: dict[str, Any], shoot_api: KubeClient
) -> None:
    shoot_api.apply(addon())
    try:
        wait_addon(shoot_api, ready=1)
        # broken: its new pod fits no node (Recreate: the ready one is gone first)
        shoot_api.merge_patch("apps/v1", "Deployment", ADDON, node_selector(NOWHERE), "kube-system")
        wait_addon(shoot_api, ready=0)
        care_run(bundled, SystemComponentsHealthy=0)
        c = condition(seed, SYSTEM)
        assert (c.status, c.reason) == (FALSE, "SystemComponentsUnhealthy"), c.message
        assert f"Deployment {ADDON} has 0/1 replicas ready" in c.message
        assert label(seed) == "unhealthy"
        shoot_api.merge_patch("apps/v1", "Deployment", ADDON, node_selector(None), "kube-system")
        wait_addon(shoot_api, ready=1)
        care_run(bundled, SystemComponentsHealthy=0)
        c = condition(seed, SYSTEM)
        # reason SystemComponentsRunning, not NoSystemComponents: the addon was counted
        assert (c.status, c.reason) == (TRUE, "SystemComponentsRunning"), c.message
        assert label(seed) == "healthy"
    finally:
        shoot_api.delete("apps/v1", "Deployment", ADDON, "kube-system")


def test_fail_closed_webhooks_make_hibernation_impossible_naming_them(
    seed: KubeClient, bundled: dict[str, Any], shoot_api: KubeClient
) -> None:
    """A validating webhook on pods blocks hibernation and maintenance (drains create
    pods elsewhere); a mutating one on deployments only hibernation."""
    validating = ("ValidatingWebhookConfiguration", "care-test-pods", "pods")
    mutating = ("MutatingWebhookConfiguration", "care-test-deployments", "deployments")
    try:
        for kind, name, resource in (validating, mutating):
            shoot_api.apply(webhook_configuration(kind, name, resource, "Fail"))
        care_run(bundled)
        hibernation = constraint(seed, HIBERNATION)
        assert (hibernation.status, hibernation.reason) == (FALSE, "ProblematicWebhooks")
        assert hibernation.codes == (ErrorCode.PROBLEMATIC_WEBHOOK,)
        for kind, name, resource in (validating, mutating):
            hook = f"{kind}/{name} webhook {resource}.{name}.care-test.garden.airflow.io"
            assert hook in hibernation.message, hibernation.message
        maintenance = constraint(seed, MAINTENANCE)
        assert maintenance.status is FALSE
        assert "ValidatingWebhookConfiguration/care-test-pods" in maintenance.message
        assert "care-test-deployments" not in maintenance.message
        # repaired as an admin would: the webhooks stay, failing open
        for kind, name, resource in (validating, mutating):
            shoot_api.apply(webhook_configuration(kind, name, resource, "Ignore"))
        care_run(bundled)
        for kind in (HIBERNATION, MAINTENANCE):
            c = constraint(seed, kind)
            assert c.status is TRUE, c.message
    finally:
        for kind, name, _ in (validating, mutating):
            shoot_api.delete("admissionregistration.k8s.io/v1", kind, name)


def test_a_machine_whose_node_is_not_ready_makes_every_node_ready_false_naming_it(
    seed: KubeClient, bundled: dict[str, Any], shoot_api: KubeClient
) -> None:
    [machine] = [n["metadata"]["name"] for n in pool_nodes(shoot_api)]
    inject_not_ready(shoot_api, machine)  # kwok's kubelet stops reporting Ready
    try:
        wait_node(shoot_api, machine, ready=False)
        care_run(bundled, EveryNodeReady=0)
        c = condition(seed, NODES)
        assert (c.status, c.reason) == (FALSE, "NodesUnhealthy"), c.message
        assert f"pool {POOL} has 0/1 Ready nodes on {IMAGE} {VERSIONS[0]}" in c.message
        assert f"not Ready: {machine}" in c.message
        assert label(seed) == "unhealthy"
        # NotReady for less than machineHealthTimeout (10 min): care's machine health,
        # handed the shoot, left the machine alone
        assert [n["metadata"]["name"] for n in pool_nodes(shoot_api)] == [machine]
    finally:
        patch = {"metadata": {"annotations": {NODE_NOT_READY: None}}}
        shoot_api.merge_patch("v1", "Node", machine, patch)
    wait_node(shoot_api, machine, ready=True)
    care_run(bundled, EveryNodeReady=0)
    c = condition(seed, NODES)
    assert (c.status, c.reason) == (TRUE, "EveryNodeReady"), c.message
    assert label(seed) == "healthy"


def test_a_pool_below_its_minimum_is_named_by_every_node_ready_and_refilled_by_care(
    seed: KubeClient, bundled: dict[str, Any], shoot_api: KubeClient
) -> None:
    driver, worker = local_driver(seed, shoot_api)
    [machine] = [m.name for m in driver.list_machines(POOL)]
    driver.delete_machine(machine)  # the machine is gone (its VM deleted under us)
    try:
        shoot_api.wait_for(
            f"node {machine} gone",
            lambda: shoot_api.find("v1", "Node", machine) is None,
            timeout=120,
            interval=0.5,
        )
        # One run: judged on what it saw (False), then machine health refills the pool
        # and waits for the new machine to be Ready; the condition names it.
        care_run(bundled, EveryNodeReady=0)
        [refilled] = stored(seed)[0].workers[POOL].refilled
        assert refilled.reason == f"pool {POOL} had 0 of its minimum 1 machines"
        c = condition(seed, NODES)
        assert (c.status, c.reason) == (FALSE, "NodesUnhealthy"), c.message
        assert f"pool {POOL} has 0/1 Ready nodes on {IMAGE} {VERSIONS[0]}" in c.message
        assert f"pool {POOL} refilled with {refilled.machine}" in c.message
        assert label(seed) == "unhealthy"
        [new] = driver.list_machines(POOL)
        assert (new.name, new.refill, new.ready) == (refilled.machine, True, True), new
    finally:
        if not driver.list_machines(POOL):
            driver.create_machine(worker)  # as reconcile would, for the tests after this
    care_run(bundled, EveryNodeReady=0)
    c = condition(seed, NODES)
    assert (c.status, c.reason) == (TRUE, "EveryNodeReady"), c.message
    assert label(seed) == "healthy"


def test_stopped_etcd_makes_the_api_server_unavailable_and_the_shoot_unhealthy(
    seed: KubeClient, bundled: dict[str, Any], shoot: None
) -> None:
    scale(seed, "StatefulSet", "etcd", 0)
    seed.wait_for(
        "etcd pods gone",
        lambda: not seed.list("v1", "Pod", CONTROL_PLANE, label_selector="app=etcd"),
        timeout=120,
    )
    try:
        seen = []
        for _ in range(3):  # the API server notices a lost etcd within seconds, not at once
            care_run(bundled, APIServerAvailable=0, ControlPlaneHealthy=0)
            seen.append(condition(seed, API))
            if seen[-1].status is FALSE:
                break
        assert seen[-1].status is FALSE, [c.message for c in seen]
        status, labels = stored(seed)
        assert labels[care.STATUS_LABEL] == "unhealthy"
        cp = status.condition(CP)
        assert cp is not None
        assert cp.status is FALSE
        assert "StatefulSet etcd is scaled to 0" in cp.message
    finally:
        scale(seed, "StatefulSet", "etcd", 1)
    wait_ready(seed, "StatefulSet", "etcd")
