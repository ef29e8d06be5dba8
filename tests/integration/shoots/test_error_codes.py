"""Error codes where the cause is known, on the local seed: a full seed and a missing Secret.

Most shoots are reconciled by the agent code from the host (as the machine and kustomize
tests do), so a full seed fails a control-plane pod. The agent's own pod is the other
one that may find no room: ShootCreateOperator runs through Airflow (`dag.test()`) with
a pod requesting CPU on a full seed, and fails without waiting out its startup timeout.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk.exceptions import AirflowException
from garden_projects import ensure_projects
from reconcile_pods import reconcile_pods

from airflow_provider_garden.agent.components import WAIT
from airflow_provider_garden.agent.context import control_plane_of
from airflow_provider_garden.agent.shoot_delete import delete
from airflow_provider_garden.agent.shoot_reconcile import reconcile
from airflow_provider_garden.core import naming
from airflow_provider_garden.core.controlplane.manifests import ControlPlane
from airflow_provider_garden.core.flow import FlowError
from airflow_provider_garden.core.references import SECRET_REF
from airflow_provider_garden.core.settings import DEFAULT_NAMESPACE
from airflow_provider_garden.core.shoot_spec import parse_shoot
from airflow_provider_garden.core.status import ErrorCode, OperationState, ShootStatus
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.projects import PROJECT_API_VERSION
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.kube.shoots import Shoots
from airflow_provider_garden.localseed.build import PAUSE_REF
from airflow_provider_garden.localseed.profile import local_profile
from airflow_provider_garden.sensors.shoot import ShootReadySensor
from airflow_provider_garden.triggers.shoot import ShootStatusTrigger

# Fills the seed node's CPU requests: every other lane's pods would go unscheduled (tests/lanes.py).
pytestmark = [pytest.mark.integration, pytest.mark.serial]
HOLDER = "error-code-tests"


def shoot_resource(project: str, name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": SHOOT_API_VERSION,
        "kind": "Shoot",
        "metadata": {"name": name, "namespace": naming.project_namespace(project)},
        "spec": {
            "kubernetes": {"version": local_profile().kubernetes_versions[0]},
            "networking": {"pods": "100.96.0.0/11", "services": "100.64.0.0/13"},
            **spec,
        },
    }


@pytest.fixture
def project(seed: KubeClient) -> Iterator[str]:
    """A project (Project and namespace) of its own; its shoots' control planes are deleted
    afterwards."""
    project = f"codes-{uuid.uuid4().hex[:6]}"
    namespace = naming.project_namespace(project)
    ensure_projects(seed, (project,))
    seed.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    yield project
    shoots = Shoots(seed)
    for shoot in shoots.list(project):
        delete(seed, shoots, project, shoot["metadata"]["name"], holder=HOLDER)
    seed.delete("v1", "Namespace", namespace)
    seed.delete(PROJECT_API_VERSION, "Project", project)


def reconcile_failing(seed: KubeClient, project: str, resource: dict[str, Any]) -> FlowError:
    shoots = Shoots(seed)
    shoots.apply(resource)
    name = resource["metadata"]["name"]
    with pytest.raises(FlowError) as failed:
        reconcile(
            seed,
            shoots,
            project,
            name,
            holder=HOLDER,
            garden_namespace=DEFAULT_NAMESPACE,
        )
    return failed.value


# --- a full seed ----------------------------------------------------------------------


def millicores(quantity: str) -> int:
    if quantity.endswith("m"):
        return int(quantity[:-1])
    return round(float(quantity) * 1000)


def free_cpu(seed: KubeClient, node: dict[str, Any]) -> int:
    """The node's allocatable CPU minus the requests of every pod placed on it."""
    requested = 0
    for pod in seed.list("v1", "Pod"):
        status = pod.get("status") or {}
        if pod["spec"].get("nodeName") != node["metadata"]["name"]:
            continue
        if status.get("phase") in ("Succeeded", "Failed"):
            continue
        # What the scheduler counts: the containers' sum, or the largest init container.
        requested += max(
            sum(cpu_request(c) for c in pod["spec"]["containers"]),
            max((cpu_request(c) for c in pod["spec"].get("initContainers") or []), default=0),
        )
    return millicores(node["status"]["allocatable"]["cpu"]) - requested


def cpu_request(container: dict[str, Any]) -> int:
    cpu = ((container.get("resources") or {}).get("requests") or {}).get("cpu")
    return millicores(cpu) if cpu else 0


def placeholder(namespace: str, node: str, cpu: int) -> dict[str, Any]:
    labels = {"app": "placeholder"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"placeholder-{node}", "namespace": namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "nodeSelector": {"kubernetes.io/hostname": node},
                    "terminationGracePeriodSeconds": 0,
                    "containers": [
                        {
                            "name": "placeholder",
                            "image": PAUSE_REF,
                            "imagePullPolicy": "IfNotPresent",
                            "resources": {"requests": {"cpu": f"{cpu}m"}},
                        }
                    ],
                },
            },
        },
    }


@pytest.fixture
def placeholders(seed: KubeClient, namespace: str) -> Iterator[dict[str, int]]:
    """Node -> millicores its placeholder took; every placeholder is deleted afterwards."""
    taken: dict[str, int] = {}
    yield taken
    for node in taken:
        seed.delete("apps/v1", "Deployment", f"placeholder-{node}", namespace)


def fill_seed(seed: KubeClient, namespace: str, taken: dict[str, int]) -> None:
    """A placeholder per node requesting what is left, each placed before this returns."""
    for node in seed.list("v1", "Node"):
        if node["spec"].get("unschedulable"):
            continue
        name = node["metadata"]["name"]
        cpu = free_cpu(seed, node)
        assert cpu > 0, f"node {name} has no CPU left to fill before the test"
        seed.apply(placeholder(namespace, name, cpu))
        taken[name] = cpu
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pods = seed.list("v1", "Pod", namespace, label_selector="app=placeholder")
        placed = [p for p in pods if p["spec"].get("nodeName")]
        if len(placed) == len(taken) == len(pods):
            return
        time.sleep(1)
    raise AssertionError(f"placeholders were not all placed within 60s: {pods}")


def test_a_full_seed_fails_a_create_naming_the_pod_and_the_schedulers_reason(
    seed: KubeClient, project: str, namespace: str, placeholders: dict[str, int]
) -> None:
    fill_seed(seed, namespace, placeholders)
    resource = shoot_resource(project, "full")
    started = time.monotonic()
    failed = reconcile_failing(seed, project, resource)
    elapsed = time.monotonic() - started
    print(f"full seed ({placeholders} millicores taken): create failed after {elapsed:.1f}s")

    status = Shoots(seed).status(project, "full")
    assert status.last_operation is not None
    assert status.last_operation.state is OperationState.FAILED
    quota = [e for e in status.last_errors if ErrorCode.INFRA_QUOTA_EXCEEDED in e.codes]
    assert quota, f"no ERR_INFRA_QUOTA_EXCEEDED in {status.last_errors}"
    message = quota[0].description
    assert "Insufficient cpu" in message
    # The pod named is one of this shoot's, and the seed still has it unplaced.
    cp: ControlPlane = control_plane_of(parse_shoot(resource))
    pod_ref = message.split("pod ", 1)[1].split(" ", 1)[0]
    pod_namespace, pod_name = pod_ref.split("/")
    assert pod_namespace == cp.namespace
    pod = seed.get("v1", "Pod", pod_name, pod_namespace)
    scheduled = next(c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")
    assert (scheduled["status"], scheduled["reason"]) == ("False", "Unschedulable")
    # It ended on evidence, not by waiting out the timeout of "not available yet".
    assert elapsed < WAIT.timeout.total_seconds()
    assert failed.failed[0].attempts < WAIT.timeout / WAIT.interval


# --- a full seed, met by the agent's own pod ---------------------------------------------

CREATE_DAG = """
import pendulum
from airflow.sdk import DAG
from kubernetes.client import models as k8s
from airflow_provider_garden.operators.shoot import ShootCreateOperator

with DAG(
    dag_id="error_codes_create",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"project": "", "name": "", "spec": ""},
) as dag:
    ShootCreateOperator(
        task_id="create_shoot",
        project="{{ params.project }}",
        name="{{ params.name }}",
        spec="{{ params.spec }}",
        # A pod that asks for CPU (as under a LimitRange's defaults): a full seed has none.
        container_resources=k8s.V1ResourceRequirements(requests={"cpu": "100m"}),
    )
"""
# Seconds the agent pod may stay unplaced for lack of room: short here, 45 by default.
TEST_GRACE = "3"
_NO_ROOM = re.compile(
    r"ERR_INFRA_QUOTA_EXCEEDED: pod (\S+)/(\S+) cannot be scheduled \(for \d+s\): "
)


@pytest.fixture
def create_dag(
    tmp_path: Path, airflow_seed_connection: None, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """The DAG above in a bundle of this test's own (dag.test() runs only DAGs of a bundle),
    parsed with a short ``[garden] unschedulable_grace_seconds``."""
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "error_codes_create.py").write_text(CREATE_DAG)
    bundle = {
        "name": "error-codes-tests",
        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
        "kwargs": {"path": str(folder)},
    }
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([bundle]))
    monkeypatch.setenv("AIRFLOW__GARDEN__UNSCHEDULABLE_GRACE_SECONDS", TEST_GRACE)
    return DagBag(dag_folder=str(folder)).dags["error_codes_create"]


def create_without_room(
    dag: Any, project: str, name: str, capfd: pytest.CaptureFixture[str]
) -> tuple[str, str]:
    """Run the create on the full seed; the failed task's ``(pod, reason)`` from its log."""
    spec = shoot_resource(project, name)["spec"]
    capfd.readouterr()
    run = dag.test(run_conf={"project": project, "name": name, "spec": json.dumps(spec)})
    out, err = capfd.readouterr()
    logged = out + err
    assert str(run.state) == "failed", logged[-3000:]
    found = _NO_ROOM.search(logged)
    assert found, f"no ERR_INFRA_QUOTA_EXCEEDED naming a pod in the task's log: {logged[-3000:]}"
    namespace, pod = found.groups()
    reason = logged[found.end() :].splitlines()[0]
    return f"{namespace}/{pod}", reason


def test_a_full_seed_fails_a_create_whose_agent_pod_has_no_room(
    seed: KubeClient,
    project: str,
    namespace: str,
    placeholders: dict[str, int],
    create_dag: Any,
    capfd: pytest.CaptureFixture[str],
) -> None:
    fill_seed(seed, namespace, placeholders)

    # A new shoot: the task fails naming its pod and the scheduler's reason; the pod is
    # deleted, and no Shoot was written (only the pod would have written it).
    pod, reason = create_without_room(create_dag, project, "fresh", capfd)
    assert pod.startswith(f"{DEFAULT_NAMESPACE}/garden-shoot-reconcile-"), pod
    assert "Insufficient cpu" in reason, reason
    assert seed.find("v1", "Pod", pod.split("/")[1], DEFAULT_NAMESPACE) is None
    assert Shoots(seed).find(project, "fresh") is None

    # A Shoot that exists: the code is written into it too, and the operation Failed.
    Shoots(seed).apply(shoot_resource(project, "held"))
    pod, reason = create_without_room(create_dag, project, "held", capfd)
    assert "Insufficient cpu" in reason, reason
    status = Shoots(seed).status(project, "held")
    assert status.last_operation is not None
    assert status.last_operation.state is OperationState.FAILED
    (error,) = status.last_errors
    assert (error.codes, error.task_id) == ((ErrorCode.INFRA_QUOTA_EXCEEDED,), "create_shoot")
    assert f"pod {pod} cannot be scheduled" in error.description
    assert "Insufficient cpu" in error.description
    assert reconcile_pods(seed, project) == set(), "an agent pod was left behind"


# --- a missing Secret -------------------------------------------------------------------


async def first_event(trigger: ShootStatusTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        payload: dict[str, Any] = event.payload
        return payload
    raise AssertionError("the trigger ended without an event")


@pytest.mark.usefixtures("airflow_seed_connection")
def test_a_missing_s3_secret_is_a_configuration_problem_the_sensor_fails_on(
    seed: KubeClient, project: str
) -> None:
    store = {"kind": "s3", "bucket": "backups", "secretRef": {"name": "absent-creds"}}
    resource = shoot_resource(project, "nocreds", backup={"store": store})
    Shoots(seed).apply(resource)
    # The trigger the deferred ShootReadySensor hands to the triggerer, started while the
    # Shoot has no status yet; its timeout is the bound: a miss yields "timeout".
    trigger = ShootStatusTrigger(
        kubernetes_conn_id="kubernetes_default",
        project=project,
        name="nocreds",
        poll_interval=1.0,
        timeout=60.0,
    )

    async def scenario() -> tuple[dict[str, Any], FlowError, float]:
        watching = asyncio.create_task(first_event(trigger))
        await asyncio.sleep(2)  # the trigger sees the Shoot waiting first
        assert not watching.done(), watching.result()
        failed = await asyncio.to_thread(reconcile_failing, seed, project, resource)
        reported = time.monotonic()
        event = await watching
        return event, failed, time.monotonic() - reported

    event, failed, latency = asyncio.run(scenario())
    print(f"missing Secret: the trigger failed {latency:.1f}s after the status was written")

    assert failed.failed_tasks == ("Checking the spec and the Secrets it names",)
    status: ShootStatus = Shoots(seed).status(project, "nocreds")
    assert status.last_operation is not None
    assert status.last_operation.state is OperationState.FAILED
    (error,) = status.last_errors
    assert error.codes == (ErrorCode.CONFIGURATION_PROBLEM,)
    assert f"{SECRET_REF}: Secret {naming.project_namespace(project)}/absent-creds" in (
        error.description
    )
    # Nothing was deployed: the control-plane namespace was never made.
    cp = control_plane_of(parse_shoot(resource))
    assert seed.find("v1", "Namespace", cp.namespace) is None

    assert event["status"] == "failed", event
    assert "ERR_CONFIGURATION_PROBLEM" in event["message"]
    assert "absent-creds" in event["message"]
    sensor = ShootReadySensor(task_id="ready", project=project, name="nocreds")
    with pytest.raises(AirflowException, match="ERR_CONFIGURATION_PROBLEM"):
        sensor.execute_complete({}, event)  # type: ignore[arg-type]
    # Started after the failure, the sensor fails in its first poke, before deferring.
    with pytest.raises(AirflowException, match=r"(?s)ERR_CONFIGURATION_PROBLEM.*absent-creds"):
        sensor.execute({})  # type: ignore[arg-type]


# --- a snapshot store that does not answer ---------------------------------------------


def test_an_unreachable_s3_store_is_an_infrastructure_dependency_found_before_deploying(
    seed: KubeClient, project: str
) -> None:
    namespace = naming.project_namespace(project)
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens on the seed's host
    seed.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds", "namespace": namespace},
            "stringData": {"accessKeyID": "id", "secretAccessKey": "key", "endpoint": closed},
        }
    )
    store = {"kind": "s3", "bucket": "backups", "secretRef": {"name": "creds"}}
    resource = shoot_resource(project, "nostore", backup={"store": store})
    failed = reconcile_failing(seed, project, resource)

    assert failed.failed_tasks == ("Checking the spec and the Secrets it names",)
    status = Shoots(seed).status(project, "nostore")
    assert status.last_operation is not None
    assert status.last_operation.state is OperationState.FAILED
    (error,) = status.last_errors
    assert error.codes == (ErrorCode.INFRA_DEPENDENCIES,)
    assert f"snapshot store {closed} does not answer" in error.description
    cp = control_plane_of(parse_shoot(resource))
    assert seed.find("v1", "Namespace", cp.namespace) is None
