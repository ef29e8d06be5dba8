"""EtcdRestoreOperator: the pod it describes holds the shoot's Lease (no cluster needed)."""

from __future__ import annotations

from typing import Any

from airflow_provider_garden.agent.main import build_parser
from airflow_provider_garden.core.shoot_spec import parse_shoot
from airflow_provider_garden.operators.etcd import EtcdRestoreOperator


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
