"""EtcdRestoreOperator: the pod it describes holds the shoot's Lease (no cluster needed)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from airflow_provider_garden.agent.main import build_parser
from airflow_provider_garden.core.shoot_spec import parse_shoot
from airflow_provider_garden.operators.etcd import EtcdBackupOperator, EtcdRestoreOperator


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
