"""Status writes through kube/shoots.py against the real API server, on a logical clock.

No shoot is reconciled: a bare Shoot resource is enough to show what the API server
stores when a condition is written twice an hour apart (an injected clock stands in
for the hour; nothing waits).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.shoot_resource import to_resource
from airflow_provider_garden.core.shoot_spec import new_spec
from airflow_provider_garden.core.status import (
    Condition,
    ConditionStatus,
    ConditionType,
    LastBackup,
    LastError,
    LastMaintenance,
    OperationState,
    OperationType,
    RolloutStatus,
    ShootStatus,
    VersionCount,
    WorkerPoolStatus,
)
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.errors import Invalid
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.kube.shoots import Shoots
from airflow_provider_garden.localseed.profile import local_profile

pytestmark = pytest.mark.integration
T0 = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
NODES, API = ConditionType.EVERY_NODE_READY, ConditionType.API_SERVER_AVAILABLE


class LogicalClock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


@pytest.fixture
def shoot(seed: KubeClient) -> Iterator[tuple[str, str]]:
    """A bare Shoot in a project namespace of its own (removed with it afterwards)."""
    project, name = f"status-{uuid.uuid4().hex[:6]}", "conditions"
    namespace = naming.project_namespace(project)
    seed.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    spec = new_spec(project, name, local_profile().kubernetes_versions[0])
    seed.apply(to_resource(spec, api_version=SHOOT_API_VERSION))
    yield project, name
    seed.delete("v1", "Namespace", namespace)


def stored(seed: KubeClient, project: str, name: str) -> ShootStatus:
    """The status as the API server holds it (a fresh GET, not a write's response)."""
    return ShootStatus.from_shoot(
        seed.get(SHOOT_API_VERSION, "Shoot", name, naming.project_namespace(project))
    )


def nodes(status: ConditionStatus, message: str) -> Condition:
    return Condition(type=NODES, status=status, reason="Checked", message=message)


def test_a_condition_unchanged_for_an_hour_keeps_its_transition_time(
    seed: KubeClient, shoot: tuple[str, str]
) -> None:
    project, name = shoot
    clock = LogicalClock(T0)
    shoots = Shoots(seed, clock=clock)

    shoots.set_conditions(project, name, [nodes(ConditionStatus.TRUE, "all 3 Ready")])
    clock.at = T0 + HOUR
    shoots.set_conditions(project, name, [nodes(ConditionStatus.TRUE, "all 3 Ready")])
    kept = stored(seed, project, name).condition(NODES)
    assert kept is not None
    assert (kept.last_transition_time, kept.last_update_time) == (T0, T0)

    clock.at = T0 + 2 * HOUR  # same status, new message: updated, not transitioned
    shoots.set_conditions(project, name, [nodes(ConditionStatus.TRUE, "all 4 Ready")])
    updated = stored(seed, project, name).condition(NODES)
    assert updated is not None
    assert (updated.last_transition_time, updated.last_update_time) == (T0, T0 + 2 * HOUR)

    clock.at = T0 + 3 * HOUR  # the status flips: a transition
    shoots.set_conditions(project, name, [nodes(ConditionStatus.FALSE, "1 of 4 not Ready")])
    flipped = stored(seed, project, name).condition(NODES)
    assert flipped is not None
    assert flipped.status is ConditionStatus.FALSE
    assert (flipped.last_transition_time, flipped.last_update_time) == (T0 + 3 * HOUR,) * 2


def test_report_merges_conditions_and_keeps_those_of_other_writers(
    seed: KubeClient, shoot: tuple[str, str]
) -> None:
    """A rollout writes EveryNodeReady; APIServerAvailable (the reconcile's) must survive."""
    project, name = shoot
    clock = LogicalClock(T0)
    shoots = Shoots(seed, clock=clock)
    api_up = Condition(type=API, status=ConditionStatus.TRUE, reason="Up", message="healthy")
    shoots.report(
        project,
        name,
        type_=OperationType.CREATE,
        state=OperationState.SUCCEEDED,
        progress=100,
        description="created",
        conditions=[api_up, nodes(ConditionStatus.TRUE, "all 3 Ready")],
    )
    clock.at = T0 + HOUR
    shoots.report(
        project,
        name,
        type_=OperationType.RECONCILE,
        state=OperationState.ERROR,
        progress=50,
        description="rollout stopped",
        errors=[LastError(description="boom", task_id="machines-rollout-a")],
        conditions=[nodes(ConditionStatus.FALSE, "1 of 3 not Ready")],
    )
    status = stored(seed, project, name)
    assert [c.type for c in status.conditions] == [API, NODES]
    api = status.condition(API)
    assert api is not None
    assert api.last_transition_time == T0
    assert status.last_operation is not None
    assert (status.last_operation.state, status.last_operation.last_update_time) == (
        OperationState.ERROR,
        T0 + HOUR,
    )
    assert status.last_errors == (
        LastError(description="boom", task_id="machines-rollout-a", last_update_time=T0 + HOUR),
    )


class RacingShoots(Shoots):
    """Another writer sets a condition between this writer's read and its write, once."""

    def __init__(self, kube: KubeClient, other: Shoots, condition: Condition) -> None:
        super().__init__(kube, clock=other.clock)
        self.other, self.condition, self.raced = other, condition, False

    def get(self, project: str, name: str) -> dict[str, Any]:
        current = super().get(project, name)
        if not self.raced:
            self.raced = True
            self.other.set_conditions(project, name, [self.condition])
        return current


def test_a_write_that_raced_another_reads_again_and_keeps_both(
    seed: KubeClient, shoot: tuple[str, str]
) -> None:
    """Without the resourceVersion precondition the second list would replace the first."""
    project, name = shoot
    clock = LogicalClock(T0)
    api_up = Condition(type=API, status=ConditionStatus.TRUE, reason="Up", message="healthy")
    racing = RacingShoots(seed, Shoots(seed, clock=clock), api_up)
    racing.set_conditions(project, name, [nodes(ConditionStatus.TRUE, "all 3 Ready")])
    assert racing.raced
    assert [c.type for c in stored(seed, project, name).conditions] == [API, NODES]


def test_typed_records_are_stored_whole_and_a_wrong_type_is_refused(
    seed: KubeClient, shoot: tuple[str, str]
) -> None:
    """lastBackup, lastMaintenance and workers are typed in the CRD: what the model
    writes reads back equal, a wrong type is refused naming the field, and a field the
    schema lacks is pruned (nothing is free-form any more)."""
    project, name = shoot
    shoots = Shoots(seed, clock=LogicalClock(T0))
    backup = LastBackup(
        snapshot="full-1", created=T0, verified=True, end_revision=42, size=1024, sha256="ab" * 32
    )
    maintenance = LastMaintenance(
        description="1.32.11 -> 1.32.13", state=OperationState.SUCCEEDED, triggered_time=T0
    )
    pool = WorkerPoolStatus(
        machines=2,
        ready=1,
        image_name="gardenlinux",
        image_version="1592.2",
        versions=(
            VersionCount(version="1592.1", machines=1),
            VersionCount(version="1592.2", machines=1),
        ),
        updated=1,
        rollout=RolloutStatus(
            state=OperationState.PROCESSING, target_version="1592.2", failed_machines=("m-1",)
        ),
        last_update_time=T0,
    )
    shoots.record_backup(project, name, backup)
    shoots.record_maintenance(project, name, maintenance)
    shoots.report(
        project,
        name,
        type_=OperationType.RECONCILE,
        state=OperationState.PROCESSING,
        progress=50,
        description="rolling pool-a",
        workers={"pool-a": pool},
    )
    status = stored(seed, project, name)
    assert (status.last_backup, status.last_maintenance) == (backup, maintenance)
    assert status.workers == {"pool-a": pool}

    namespace = naming.project_namespace(project)

    def patch(status: dict[str, Any]) -> dict[str, Any]:
        return seed.merge_patch(
            SHOOT_API_VERSION, "Shoot", name, {"status": status}, namespace, subresource="status"
        )

    with pytest.raises(Invalid, match=r"status\.lastBackup\.verified.*boolean"):
        patch({"lastBackup": {"verified": "yes"}})
    with pytest.raises(Invalid, match=r"status\.workers\.pool-a\.rollout\.state.*Unsupported"):
        patch({"workers": {"pool-a": {"rollout": {"state": "Done"}}}})
    stored_backup = patch({"lastBackup": {"location": "elsewhere"}})["status"]["lastBackup"]
    assert "location" not in stored_backup
    assert LastBackup.from_dict(stored_backup) == backup
