"""Every operator and sensor that takes a project refuses a bad one before any I/O.

The GardenHook is replaced by one that fails on any use: a refusal that reached the
seed (read a Shoot, created a namespace) would raise that error instead of SpecError.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_garden.core.project import Role
from airflow_provider_garden.core.spec_fields import SpecError
from airflow_provider_garden.operators.care import ShootCareOperator
from airflow_provider_garden.operators.confirm import require_typed_confirmation
from airflow_provider_garden.operators.etcd import EtcdBackupOperator, EtcdRestoreOperator
from airflow_provider_garden.operators.kustomize import KustomizeApplyOperator
from airflow_provider_garden.operators.machines import MachineRolloutOperator
from airflow_provider_garden.operators.shoot import ShootCreateOperator, ShootDeleteOperator
from airflow_provider_garden.sensors.shoot import EtcdBackupSensor, ShootReadySensor


class _NoSeed:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the seed was used ({name}) before the project was checked")


Build = Callable[[object], Any]
KINDS: dict[str, tuple[Build, str]] = {
    "create": (
        lambda p: ShootCreateOperator(task_id="t", project=p, name="dev", spec={}),
        "project",
    ),
    "delete": (lambda p: ShootDeleteOperator(task_id="t", project=p, name="dev"), "project"),
    "backup": (lambda p: EtcdBackupOperator(task_id="t", project=p, name="dev"), "project"),
    "restore": (lambda p: EtcdRestoreOperator(task_id="t", project=p, name="dev"), "project"),
    "rollout": (
        lambda p: MachineRolloutOperator(task_id="t", project=p, name="dev", worker_pool="a"),
        "project",
    ),
    "kustomize": (
        lambda p: KustomizeApplyOperator(
            task_id="t", inventory_id="i", git_url="https://example.com/x.git", target=f"{p}/dev"
        ),
        "target",
    ),
    "care": (lambda p: ShootCareOperator(task_id="t", project=p), "project"),
    "ready": (lambda p: ShootReadySensor(task_id="t", project=p, name="dev"), "project"),
    "backup-sensor": (
        lambda p: EtcdBackupSensor(task_id="t", project=p, name="dev", max_age=60),
        "project",
    ),
}
BAD = {
    "system": "is reserved",
    "garden": "is reserved",
    "Team_A": "must be a DNS-1123 label",
    "a--b": "must not contain '--'",
    "123": "must contain a letter",
}


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("project", sorted(BAD))
def test_bad_project_is_refused_before_any_io(kind: str, project: str) -> None:
    build, field = KINDS[kind]
    task = build(project)
    task.__dict__["garden"] = _NoSeed()  # the cached GardenHook
    with pytest.raises(SpecError) as err:
        task.execute(context={})
    assert [e.path for e in err.value.errors] == [field]
    assert err.value.errors[0].rule.startswith(f"project {project!r} {BAD[project]}")


@pytest.mark.parametrize("kind", sorted(k for k in KINDS if k != "kustomize"))
def test_a_native_number_is_refused_as_text_not_a_crash(kind: str) -> None:
    # render_template_as_native_obj turns "{{ params.project }}" with 123 into the int 123.
    task = KINDS[kind][0](123)
    task.__dict__["garden"] = _NoSeed()
    with pytest.raises(SpecError, match=r"project: project 123 must be text, got int"):
        task.execute(context={})


@pytest.mark.parametrize("project", sorted(BAD))
def test_typed_confirmation_refuses_a_bad_project_first(project: str) -> None:
    params = {"project": project, "name": "dev", "confirm": f"{project}/dev"}
    with pytest.raises(AirflowFailException, match=rf"params.project: project .*{BAD[project]}"):
        require_typed_confirmation(params, "delete")


# --- who may act: checked after the name rules, before anything else -----------------
#: the role each kind needs in its project: the sensors only read
NEEDED = {kind: Role.ADMIN for kind in KINDS} | {
    "ready": Role.VIEWER,
    "backup-sensor": Role.VIEWER,
}


class _Refused(Exception):
    pass


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_access_is_checked_with_the_kinds_role_before_any_other_io(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The access check gets the project and the role; nothing else reached the seed first."""
    seen: list[tuple[list[tuple[str, object]], Role]] = []

    def refuse(
        kube: object, settings: object, context: object, projects: Any, *, needed: Role, **_: Any
    ) -> None:
        seen.append((list(projects), needed))
        raise _Refused

    monkeypatch.setattr("airflow_provider_garden.operators.pod.authorize", refuse)
    monkeypatch.setattr("airflow_provider_garden.sensors.shoot.authorize", refuse)
    task = KINDS[kind][0]("team-a")
    task.__dict__["garden"] = types.SimpleNamespace(kube=_NoSeed(), shoots=_NoSeed())
    task.__dict__["_kube"] = _NoSeed()
    with pytest.raises(_Refused):
        task.execute(context={})
    field = KINDS[kind][1]
    assert seen == [([(field, "team-a")], NEEDED[kind])]
