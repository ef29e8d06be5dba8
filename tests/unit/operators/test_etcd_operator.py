"""The etcd operators' pods and reports (no cluster needed): the restore pod holds the
shoot's Lease, the backup pod knows its store's size, the drill records what its pod
could not."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_garden.agent.main import build_parser
from airflow_provider_garden.core.shoot_spec import parse_shoot
from airflow_provider_garden.core.status import DrillState, LastRestoreDrill
from airflow_provider_garden.operators.etcd import (
    EtcdBackupOperator,
    EtcdRestoreDrillOperator,
    EtcdRestoreOperator,
)
from airflow_provider_garden.operators.pod import AgentResultError


def test_the_restore_pod_is_told_which_shoots_lease_to_hold() -> None:
    task = EtcdRestoreOperator(task_id="restore", project="team-a", name="dev", snapshot="s")
    shoot: dict[str, Any] = {
        "metadata": {"name": "dev", "namespace": "garden-team-a", "uid": "u-1"},
        "spec": {"kubernetes": {"version": "1.32.3"}, "backup": {"store": {"kind": "local"}}},
    }
    task.__dict__["shoot"] = shoot  # the cached Shoot, as read when the task runs
    assert parse_shoot(shoot).backup is not None
    task.before_pod(context={})  # type: ignore[arg-type]
    assert task.namespace == "shoot--team-a--dev"
    args = build_parser().parse_args(task.arguments)
    assert (args.etcd_verb, args.project, args.name) == ("restore", "team-a", "dev")
    assert args.namespace == "shoot--team-a--dev"


class _Seed:
    """What the operator reads of the seed: the store's claim, or none."""

    def __init__(self, claim: dict[str, Any] | None) -> None:
        self.claim = claim

    def find(self, api_version: str, kind: str, name: str, namespace: str) -> Any:
        assert (kind, name, namespace) == (
            "PersistentVolumeClaim",
            "etcd-backups",
            "shoot--team-a--dev",
        )
        return self.claim


def _backup_capacity(claim: dict[str, Any] | None, store: dict[str, Any]) -> int:
    task = EtcdBackupOperator(task_id="backup", project="team-a", name="dev")
    task.__dict__["shoot"] = {
        "metadata": {"name": "dev", "namespace": "garden-team-a", "uid": "u-1"},
        "spec": {"kubernetes": {"version": "1.32.3"}, "backup": {"store": store}},
    }
    task.__dict__["garden"] = SimpleNamespace(kube=_Seed(claim))
    task.before_pod(context={})  # type: ignore[arg-type]
    capacity: int = build_parser().parse_args(task.arguments).store_capacity
    return capacity


def test_the_backup_pod_judges_room_against_the_claims_size() -> None:
    older = {
        "spec": {"resources": {"requests": {"storage": "5Gi"}}},
        "status": {"capacity": {"storage": "5Gi"}},
    }
    assert _backup_capacity(older, {"kind": "local"}) == 5 * 1024**3  # not the spec's 768Mi
    requested = {"spec": {"resources": {"requests": {"storage": "1Gi"}}}}
    assert _backup_capacity(requested, {"kind": "local"}) == 1024**3
    assert _backup_capacity(None, {"kind": "local", "volumeSize": "2Gi"}) == 2 * 1024**3


def test_an_s3_backup_pod_is_given_no_capacity() -> None:
    task = EtcdBackupOperator(task_id="backup", project="team-a", name="dev")
    task.__dict__["shoot"] = {
        "metadata": {"name": "dev", "namespace": "garden-team-a", "uid": "u-1"},
        "spec": {
            "kubernetes": {"version": "1.32.3"},
            "backup": {"store": {"kind": "s3", "bucket": "b-1", "secretRef": {"name": "s"}}},
        },
    }
    task.before_pod(context={})  # type: ignore[arg-type]
    assert build_parser().parse_args(task.arguments).store_capacity is None


DRILL_SHOOT: dict[str, Any] = {
    "metadata": {"name": "dev", "namespace": "garden-team-a", "uid": "u-1"},
    "spec": {"kubernetes": {"version": "1.32.3"}, "backup": {"store": {"kind": "local"}}},
}
T0 = dt.datetime(2026, 12, 7, 3, 0, 0, 500000, tzinfo=dt.UTC)


class _Shoots:
    """The Shoot's status as the drill operator reads and writes it."""

    def __init__(self, last_drill: dict[str, Any] | None) -> None:
        self.status = {"lastRestoreDrill": last_drill} if last_drill else {}
        self.recorded: list[LastRestoreDrill] = []

    def clock(self) -> dt.datetime:
        return T0

    def find(self, project: str, name: str) -> dict[str, Any]:
        return {**DRILL_SHOOT, "status": self.status}

    def record_restore_drill(self, project: str, name: str, drill: LastRestoreDrill) -> None:
        self.recorded.append(drill)


def _drill_task(shoots: _Shoots) -> EtcdRestoreDrillOperator:
    task = EtcdRestoreDrillOperator(task_id="drill", project="team-a", name="dev")
    task.__dict__["shoot"] = DRILL_SHOOT
    task.__dict__["garden"] = SimpleNamespace(shoots=shoots)
    task.before_pod(context={})  # type: ignore[arg-type]
    return task


def test_the_drill_pod_mounts_the_store_and_never_etcds_volume() -> None:
    task = _drill_task(_Shoots(None))
    assert not task.deferrable
    assert task.namespace == "shoot--team-a--dev"
    args = build_parser().parse_args(task.arguments)
    assert (args.etcd_verb, args.project, args.name) == ("drill", "team-a", "dev")
    assert (args.store_kind, args.store_root, args.shoot_uid) == ("local", "/backups", "u-1")
    claims = {
        v.persistent_volume_claim.claim_name for v in task.volumes if v.persistent_volume_claim
    }
    assert claims == {"etcd-backups"}
    # Its scratch space (snapshot + restored data) is the pod's own, not the image's layer.
    assert args.work_dir == "/work"
    (work,) = [v for v in task.volumes if v.name == "work"]
    assert work.empty_dir is not None
    assert [m.mount_path for m in task.volume_mounts if m.name == "work"] == ["/work"]
    assert not [v for v in task.volumes if v.secret]  # no etcd client certificate


def test_a_pod_that_did_not_report_is_recorded_as_a_failed_drill() -> None:
    older = {"time": "2026-12-01T03:00:00Z", "state": "Succeeded", "description": "ok"}
    shoots = _Shoots(older)
    _drill_task(shoots).on_failure(RuntimeError("pod evicted"))
    (drill,) = shoots.recorded
    assert drill.state is DrillState.FAILED
    assert drill.time == T0
    assert "did not report" in drill.description
    assert "pod evicted" in drill.description


def test_a_drill_the_pod_recorded_is_left_as_the_pod_wrote_it() -> None:
    # Written in this second (status times are whole seconds): this try's pod wrote it.
    mine = {"time": "2026-12-07T03:00:00Z", "state": "Failed", "description": "sha256 ..."}
    shoots = _Shoots(mine)
    _drill_task(shoots).on_failure(RuntimeError("pod exited 1"))
    assert shoots.recorded == []


def test_a_failed_drill_result_fails_the_task_naming_the_reason() -> None:
    task = _drill_task(_Shoots(None))
    with pytest.raises(AgentResultError, match="revision 41"):
        task.validate_result({"state": "Failed", "description": "serves revision 41, ..."})
    assert task.validate_result({"state": "Succeeded"}) == {"state": "Succeeded"}
