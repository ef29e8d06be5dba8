"""Status records convert in one place: round trips, old shapes, clear errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from airflow_provider_garden.core.status import (
    Condition,
    ConditionStatus,
    ConditionType,
    ErrorCode,
    LastBackup,
    LastError,
    LastMaintenance,
    LastOperation,
    OperationState,
    OperationType,
    ReplacedMachine,
    RolloutStatus,
    ShootStatus,
    StatusError,
    StatusPatch,
    VersionCount,
    WorkerPoolStatus,
    format_time,
)
from airflow_provider_garden.core.status.workers import REPLACED_KEPT

T0 = dt.datetime(2026, 12, 6, 15, 0, 0, tzinfo=dt.UTC)

# A status as the provider wrote it before the model existed (field names unchanged).
WIRE: dict[str, Any] = {
    "observedGeneration": 3,
    "kubernetesVersion": "1.31.2",
    "lastOperation": {
        "type": "Reconcile",
        "state": "Error",
        "progress": 40,
        "description": "Reconcile of shoot p/s failed",
        "lastUpdateTime": "2026-12-06T15:00:00Z",
    },
    "lastErrors": [
        {
            "description": "quota",
            "codes": ["ERR_INFRA_QUOTA_EXCEEDED"],
            "taskID": "Deploying etcd",
            "lastUpdateTime": "2026-12-06T15:00:00Z",
        }
    ],
    "lastMaintenance": {
        "description": "update to 1.31.3",
        "state": "Failed",
        "triggeredTime": "2026-12-06T15:00:00Z",
        "failureReason": "rollout stopped",
    },
    "lastBackup": {
        "snapshot": "Full-0-42-1765033200.gz",
        "endRevision": 42,
        "size": 1024,
        "sha256": "ab" * 32,
        "created": "2026-12-06T15:00:00Z",
        "verified": True,
    },
    "workers": {
        "pool-a": {
            "machines": 3,
            "ready": 2,
            "image": {"name": "gardenlinux", "version": "1592.2"},
            "versions": [
                {"version": "1592.1", "machines": 1},
                {"version": "1592.2", "machines": 2},
            ],
            "lastUpdateTime": "2026-12-06T15:00:00Z",
            "updated": 2,
            "rollout": {
                "state": "Processing",
                "targetVersion": "1592.2",
                "description": "Rolling worker pool pool-a",
                "failedMachines": ["pool-a-x"],
            },
        }
    },
    "conditions": [
        {
            "type": "EveryNodeReady",
            "status": "False",
            "reason": "NodesNotReady",
            "message": "1 of 3 machines are not Ready: pool-a-x",
            "lastTransitionTime": "2026-12-06T15:00:00Z",
            "lastUpdateTime": "2026-12-06T15:00:00Z",
        }
    ],
}


def test_status_round_trips_unchanged_on_the_wire() -> None:
    status = ShootStatus.from_dict(WIRE)
    assert status.to_dict() == WIRE
    assert status.last_operation == LastOperation(
        type=OperationType.RECONCILE,
        state=OperationState.ERROR,
        progress=40,
        description="Reconcile of shoot p/s failed",
        last_update_time=T0,
    )
    assert status.workers["pool-a"].rollout == RolloutStatus(
        state=OperationState.PROCESSING,
        target_version="1592.2",
        description="Rolling worker pool pool-a",
        failed_machines=("pool-a-x",),
    )
    assert status.workers["pool-a"].versions[1] == VersionCount(version="1592.2", machines=2)
    assert status.last_backup is not None
    assert status.last_backup.end_revision == 42
    assert status.condition(ConditionType.EVERY_NODE_READY) == Condition(
        type=ConditionType.EVERY_NODE_READY,
        status=ConditionStatus.FALSE,
        reason="NodesNotReady",
        message="1 of 3 machines are not Ready: pool-a-x",
        last_transition_time=T0,
        last_update_time=T0,
    )
    assert status.error_codes == {ErrorCode.INFRA_QUOTA_EXCEEDED}


@pytest.mark.parametrize(
    ("shoot", "expected"),
    [
        (None, ShootStatus()),
        ({"metadata": {"name": "new"}}, ShootStatus()),
        (
            {"status": {"conditions": [{"type": "EveryNodeReady", "status": "True"}]}},
            ShootStatus(
                conditions=(
                    Condition(type=ConditionType.EVERY_NODE_READY, status=ConditionStatus.TRUE),
                )
            ),
        ),
        (
            {"status": {"lastOperation": {"type": "Create", "state": "Processing"}}},
            ShootStatus(
                last_operation=LastOperation(
                    type=OperationType.CREATE, state=OperationState.PROCESSING
                )
            ),
        ),
        (
            {"status": {"lastErrors": [{"description": "x"}]}},
            ShootStatus(last_errors=(LastError(description="x"),)),
        ),
        (
            {"status": {"lastMaintenance": {"description": "d"}}},
            ShootStatus(last_maintenance=LastMaintenance(description="d")),
        ),
    ],
)
def test_fields_older_versions_left_out_read_as_defaults(
    shoot: dict[str, Any] | None, expected: ShootStatus
) -> None:
    assert ShootStatus.from_shoot(shoot) == expected


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (
            {"lastOperation": {"type": "Create", "state": "Done"}},
            "status.lastOperation.state: must be one of Processing, Succeeded",
        ),
        (
            {"lastOperation": {"type": "Upgrade", "state": "Processing"}},
            "status.lastOperation.type: must be one of Create, Reconcile",
        ),
        (
            {"lastOperation": {"type": "Create", "state": "Processing", "progress": "50"}},
            "status.lastOperation.progress: must be an integer",
        ),
        (
            {"lastOperation": {"type": "Create", "state": "Processing", "progress": 101}},
            "status.lastOperation.progress: must be 0-100",
        ),
        (
            {"lastErrors": [{"description": "x", "codes": ["ERR_NOPE"]}]},
            r"status.lastErrors\[0\].codes\[0\]: must be one of ERR_INFRA_UNAUTHENTICATED",
        ),
        (
            {"conditions": [{"type": "EveryNodeReady", "status": "Maybe"}]},
            r"status.conditions\[0\].status: must be one of True, False, Unknown, Progressing",
        ),
        (
            {
                "conditions": [
                    {"type": "EveryNodeReady", "status": "True", "lastTransitionTime": "yesterday"}
                ]
            },
            r"status.conditions\[0\].lastTransitionTime: must be an RFC 3339 time",
        ),
        (
            {
                "conditions": [
                    {
                        "type": "EveryNodeReady",
                        "status": "True",
                        "lastTransitionTime": "2026-12-06T15:00:00",
                    }
                ]
            },
            r"lastTransitionTime: must carry a time zone",
        ),
        ({"conditions": {"type": "EveryNodeReady"}}, "status.conditions: must be a list"),
        (
            {"workers": {"pool-a": {"machines": True}}},
            "status.workers.pool-a.machines: must be an integer",
        ),
        (
            {"lastBackup": {"snapshot": "s", "verified": "yes"}},
            "status.lastBackup.verified: must be true or false",
        ),
    ],
)
def test_shapes_no_version_wrote_are_refused_by_field_and_rule(
    status: dict[str, Any], message: str
) -> None:
    with pytest.raises(StatusError, match=message):
        ShootStatus.from_dict(status)


@pytest.mark.parametrize(
    ("code", "retryable"),
    [
        (ErrorCode.CONFIGURATION_PROBLEM, False),
        (ErrorCode.INFRA_UNAUTHORIZED, False),
        (ErrorCode.INFRA_UNAUTHENTICATED, False),
        (ErrorCode.INFRA_QUOTA_EXCEEDED, False),
        (ErrorCode.INFRA_DEPENDENCIES, False),
        (ErrorCode.RETRYABLE_INFRA_DEPENDENCIES, True),
        (ErrorCode.RETRYABLE_CONFIGURATION_PROBLEM, True),
        (ErrorCode.CLEANUP_CLUSTER_RESOURCES, True),
        (ErrorCode.INFRA_RATE_LIMITS_EXCEEDED, True),
    ],
)
def test_error_code_classification(code: ErrorCode, retryable: bool) -> None:
    assert code.retryable is retryable
    assert LastError(description="x", codes=(code,)).retryable is retryable


def test_an_error_without_codes_is_retryable() -> None:
    assert LastError(description="timeout").retryable


def test_operator_errors_are_not_user_errors() -> None:
    assert not ErrorCode.RETRYABLE_INFRA_DEPENDENCIES.user_error
    assert ErrorCode.INFRA_UNAUTHORIZED.user_error


def test_long_texts_are_clipped_to_the_limit() -> None:
    op = LastOperation(
        type=OperationType.CREATE, state=OperationState.ERROR, description="x" * 5000
    )
    assert len(op.description) == 1024
    assert len(LastError(description="y" * 5000).description) == 1024


def test_absent_object_fields_are_written_as_null_to_remove_stale_ones() -> None:
    """A merge patch removes a key set to null: Succeeded must clear an old failureReason."""
    done = LastMaintenance(description="d", state=OperationState.SUCCEEDED, triggered_time=T0)
    assert done.to_dict() == {
        "description": "d",
        "state": "Succeeded",
        "triggeredTime": "2026-12-06T15:00:00Z",
        "failureReason": None,
    }


def test_list_items_leave_absent_fields_out() -> None:
    assert LastError(description="x").to_dict() == {"description": "x", "codes": []}
    assert Condition(
        type=ConditionType.EVERY_NODE_READY, status=ConditionStatus.TRUE
    ).to_dict() == {"type": "EveryNodeReady", "status": "True", "reason": "", "message": ""}


def test_last_backup_reads_what_the_backup_operator_records() -> None:
    backup = LastBackup.from_dict(WIRE["lastBackup"])
    assert backup.verified
    assert backup.created == T0
    assert backup.size == 1024
    assert backup.to_dict() == WIRE["lastBackup"]


def test_worker_pool_without_a_rollout_writes_null_rollout() -> None:
    pool = WorkerPoolStatus(machines=1, ready=1, image_name="gl", image_version="1")
    assert pool.to_dict()["rollout"] is None
    assert WorkerPoolStatus.from_dict(pool.to_dict(), "status.workers.p") == pool


def test_replaced_machines_round_trip_and_are_left_out_when_none() -> None:
    plain = WorkerPoolStatus(machines=1, ready=1, image_name="gl", image_version="1")
    # Left out, not null: a writer that knows nothing of replacements keeps them.
    assert "replaced" not in plain.to_dict()
    records = [
        ReplacedMachine(machine=f"m{i}", replacement=f"r{i}", reason="Ready=False", time=T0)
        for i in range(REPLACED_KEPT + 2)
    ]
    pool = dataclasses.replace(plain, replaced=tuple(records))
    wire = pool.to_dict()
    assert [r["machine"] for r in wire["replaced"]][:1] == ["m2"]  # the latest kept
    assert wire["replaced"][-1] == {
        "machine": f"m{REPLACED_KEPT + 1}",
        "replacement": f"r{REPLACED_KEPT + 1}",
        "reason": "Ready=False",
        "time": format_time(T0),
    }
    assert WorkerPoolStatus.from_dict(wire, "status.workers.p") == pool


def test_a_patch_touches_only_what_it_names() -> None:
    assert StatusPatch().to_dict() == {}
    op = LastOperation(type=OperationType.DELETE, state=OperationState.SUCCEEDED, progress=100)
    assert StatusPatch(last_operation=op, last_errors=()).to_dict() == {
        "lastOperation": {
            "type": "Delete",
            "state": "Succeeded",
            "progress": 100,
            "description": "",
            "lastUpdateTime": None,
        },
        "lastErrors": None,  # removes the errors of an earlier run
    }


def test_a_full_patch_writes_the_wire_names_readers_expect() -> None:
    status = ShootStatus.from_dict(WIRE)
    patch = StatusPatch(
        last_operation=status.last_operation,
        last_errors=status.last_errors,
        last_maintenance=status.last_maintenance,
        last_backup=status.last_backup,
        workers=status.workers,
        conditions=status.conditions,
        observed_generation=status.observed_generation,
        kubernetes_version=status.kubernetes_version,
    )
    assert patch.to_dict() == WIRE


@pytest.mark.parametrize(
    ("state", "bad"),
    [
        (OperationState.ERROR, True),
        (OperationState.FAILED, True),
        (OperationState.ABORTED, True),
        (OperationState.PROCESSING, False),
        (OperationState.SUCCEEDED, False),
        (OperationState.PENDING, False),
    ],
)
def test_states_that_end_an_operation_badly(state: OperationState, bad: bool) -> None:
    assert state.ended_badly is bad
