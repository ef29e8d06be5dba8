"""MachineRolloutOperator: input checks and the pod it describes (no cluster needed)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_garden.core.spec_fields import SpecError
from airflow_provider_garden.operators.machines import SHOOT_MOUNT, MachineRolloutOperator


def op(**kwargs: Any) -> MachineRolloutOperator:
    kwargs.setdefault("project", "team-a")
    kwargs.setdefault("name", "dev")
    kwargs.setdefault("worker_pool", "pool-a")
    return MachineRolloutOperator(task_id="roll", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"worker_pool": "Pool_A"}, "worker_pool"),
        ({"name": "-dev"}, "name"),
        ({"image_version": "latest"}, "image_version"),
        ({"creation_timeout": 0}, "creation_timeout"),
        ({"drain_timeout": -5}, "drain_timeout"),
        ({"freeze_after": 0}, "freeze_after"),
        ({"max_unhealthy": "150"}, "max_unhealthy"),
    ],
)
def test_bad_input_fails_before_any_api_call(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(SpecError) as err:
        op(**kwargs).validate_inputs()
    assert [e.path for e in err.value.errors] == [field]


class _Recorder:
    """Stands in for the seed client while the pod spec is composed."""

    def __init__(self) -> None:
        self.applied: list[dict[str, Any]] = []

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.applied.append(obj)
        return obj


class _Garden:
    def __init__(self) -> None:
        self.kube = _Recorder()


def test_pod_runs_in_the_project_namespace_beside_the_kubeconfig() -> None:
    task = op(force_drain=True, max_unhealthy=2)
    garden = _Garden()
    task.__dict__["garden"] = garden  # the cached GardenHook
    task.before_pod(context={})  # type: ignore[arg-type]
    assert task.namespace == "garden-team-a"
    assert task.service_account_name == "garden-machines"
    [volume] = [v for v in task.volumes if v.secret is not None]
    assert volume.secret.secret_name == "dev.kubeconfig"
    [mount] = [m for m in task.volume_mounts if m.name == volume.name]
    assert (mount.mount_path, mount.read_only) == (SHOOT_MOUNT, True)
    args = task.arguments
    assert args[:4] == ["--garden-namespace", "garden-system", "machines", "rollout"]
    assert args[args.index("--shoot-kubeconfig") + 1] == f"{SHOOT_MOUNT}/kubeconfig"
    assert args[args.index("--max-unhealthy") + 1] == "2"
    assert "--force-drain" in args
    kinds = [(o["kind"], o["metadata"]["namespace"]) for o in garden.kube.applied]
    assert kinds == [("ServiceAccount", "garden-team-a"), ("RoleBinding", "garden-team-a")]
    assert garden.kube.applied[1]["roleRef"]["name"] == "garden-system:garden-machines"


def test_a_new_image_version_is_the_pods_to_write_not_the_workers() -> None:
    """_Garden has no Shoot access: a write of the spec from here would fail the test."""
    from airflow_provider_garden.agent.main import build_parser

    task = op(image_version="1592.3")
    garden = _Garden()
    task.__dict__["garden"] = garden
    task.before_pod(context={})  # type: ignore[arg-type]
    assert {o["kind"] for o in garden.kube.applied} == {"ServiceAccount", "RoleBinding"}
    parsed = build_parser().parse_args(task.arguments)
    assert (parsed.pool, parsed.image_version) == ("pool-a", "1592.3")
