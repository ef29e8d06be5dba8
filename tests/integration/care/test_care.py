"""Shoot care on the local seed: the garden_care DAG's one pod observes a real shoot.

One shoot (no workers) is shared by the module; each test breaks one real thing in
its control plane (through the seed API, as an outage would) and runs the DAG with
``dag.test()``: real Airflow task, real pod under the garden-care account.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag

from airflow_provider_garden.agent.care import CareTarget, Options, care_fleet
from airflow_provider_garden.core import care, naming
from airflow_provider_garden.core.status import (
    Condition,
    ConditionStatus,
    ConditionType,
    ConstraintType,
    ShootStatus,
)
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.kube.shoots import Shoots

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("airflow_seed_connection")]
DAGS = Path(__file__).resolve().parents[3] / "dags"
PROJECT, NAME = "care", "c1"
CONTROL_PLANE = naming.controlplane_namespace(PROJECT, NAME)
CP, API = ConditionType.CONTROL_PLANE_HEALTHY, ConditionType.API_SERVER_AVAILABLE
TRUE, FALSE = ConditionStatus.TRUE, ConditionStatus.FALSE
PROGRESSING = ConditionStatus.PROGRESSING


@pytest.fixture(scope="module")
def bundled() -> dict[str, Any]:
    return DagBag(dag_folder=str(DAGS)).dags


@pytest.fixture(scope="module")
def shoot(seed: KubeClient, bundled: dict[str, Any], shoot_cleanup: list[tuple[str, str]]) -> None:
    shoot_cleanup.append((PROJECT, NAME))
    run = bundled["garden_provision"].test(run_conf={"project": PROJECT, "name": NAME})
    assert run.state == "success"


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
