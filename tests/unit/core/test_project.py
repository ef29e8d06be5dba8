"""Projects: the access decision, the quota decision and reading the resource, as tables."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_garden.core.project import (
    Actor,
    Member,
    Project,
    Quota,
    Role,
    access_problem,
    acting_user,
    missing_project,
    parse_project,
    project_resource,
    quota_problem,
    shoot_machines,
)
from airflow_provider_garden.core.spec_fields import SpecError

TEAM = Project(
    name="team-a",
    owner="olga",
    members=(Member("olga", Role.ADMIN), Member("vic", Role.VIEWER), Member("ann", Role.ADMIN)),
)


@pytest.mark.parametrize(
    ("user", "needed", "admins", "refused"),
    [
        ("ann", Role.ADMIN, (), None),
        ("ann", Role.VIEWER, (), None),  # an admin is a viewer too
        ("vic", Role.VIEWER, (), None),
        (
            "vic",
            Role.ADMIN,
            (),
            "user 'vic' (the run's triggering user) is only viewer in project 'team-a': ShootCreateOperator 'create' needs role admin",
        ),
        (
            "mallory",
            Role.VIEWER,
            (),
            "user 'mallory' (the run's triggering user) is not a member of project 'team-a': ShootCreateOperator 'create' needs role viewer",
        ),
        (
            "mallory",
            Role.ADMIN,
            (),
            "user 'mallory' (the run's triggering user) is not a member of project 'team-a': ShootCreateOperator 'create' needs role admin",
        ),
        ("root", Role.ADMIN, ("root",), None),  # [garden] project_admins
        ("mallory", Role.ADMIN, ("root",), "is not a member of project 'team-a'"),
    ],
)
def test_access_decision_names_user_project_and_role(
    user: str, needed: Role, admins: tuple[str, ...], refused: str | None
) -> None:
    problem = access_problem(
        TEAM,
        acting_user(user, TEAM),
        needed,
        operation="ShootCreateOperator 'create'",
        installation_admins=admins,
    )
    if refused is None:
        assert problem is None
    else:
        assert problem is not None
        assert refused in problem
        assert problem.endswith("nothing was created")


@pytest.mark.parametrize(
    ("triggering", "expected"),
    [
        ("ann", Actor("ann", "the run's triggering user")),
        (None, Actor("olga", "the owner of project 'team-a' (the run has no triggering user)")),
        ("", Actor("olga", "the owner of project 'team-a' (the run has no triggering user)")),
    ],
)
def test_a_run_without_triggering_user_acts_as_the_owner(
    triggering: str | None, expected: Actor
) -> None:
    assert acting_user(triggering, TEAM) == expected


def test_an_owner_who_is_no_member_is_refused_naming_the_owner() -> None:
    orphan = Project(name="team-b", owner="gone", members=(Member("ann", Role.ADMIN),))
    problem = access_problem(orphan, acting_user(None, orphan), Role.ADMIN, operation="backup")
    assert problem is not None
    assert problem.startswith("user 'gone' (the owner of project 'team-b'")


def test_a_duplicate_member_holds_the_stronger_role() -> None:
    both = Project(name="p", owner="x", members=(Member("x", Role.VIEWER), Member("x", Role.ADMIN)))
    assert both.role_of("x") is Role.ADMIN
    assert both.role_of("y") is None


def test_missing_project_is_named() -> None:
    assert missing_project("team-c").startswith("project 'team-c' does not exist (no Project")


@pytest.mark.parametrize(
    ("quota", "existing", "shoot", "machines", "refused"),
    [
        (Quota(), {"a": 9, "b": 9}, "c", 9, None),
        (Quota(max_shoots=2), {"a": 1}, "b", 1, None),
        (Quota(max_shoots=2), {"a": 1, "b": 1}, "b", 1, None),  # re-applying b is not a new one
        (
            Quota(max_shoots=2),
            {"a": 1, "b": 1},
            "c",
            1,
            "ERR_INFRA_QUOTA_EXCEEDED: project 'team-a' has quota maxShoots=2 and 2 shoot(s) (a, b): shoot 'c' is refused",
        ),
        (Quota(max_shoots=0), {}, "a", 1, "quota maxShoots=0 and 0 shoot(s) ()"),
        (Quota(max_machines=5), {"a": 2}, "b", 3, None),
        (
            Quota(max_machines=5),
            {"a": 2},
            "b",
            4,
            "ERR_INFRA_QUOTA_EXCEEDED: project 'team-a' has quota maxMachines=5: its other shoots may have 2 machine(s) and shoot 'b' up to 4 (its pools' maximum), 6 in all",
        ),
        (Quota(max_machines=5), {"a": 5}, "a", 5, None),  # a replaces its own count
        (Quota(max_machines=5), {"a": 5}, "a", 6, "maxMachines=5"),
    ],
)
def test_quota_decision(
    quota: Quota, existing: dict[str, int], shoot: str, machines: int, refused: str | None
) -> None:
    project = Project(name="team-a", owner="olga", quota=quota)
    problem = quota_problem(project, existing, shoot=shoot, machines=machines)
    if refused is None:
        assert problem is None
    else:
        assert problem is not None
        assert refused in problem


def test_shoot_machines_sums_the_pools_maximum() -> None:
    spec = {"workers": [{"name": "a", "maximum": 3}, {"name": "b", "maximum": 2}]}
    assert shoot_machines(spec) == 5
    assert shoot_machines({}) == 0


def _resource(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "garden.airflow.io/v1alpha1",
        "kind": "Project",
        "metadata": {"name": "team-a"},
        "spec": spec,
    }


def test_resource_round_trip() -> None:
    project = Project(
        name="team-a", owner="olga", members=TEAM.members, quota=Quota(max_shoots=2, max_machines=6)
    )
    resource = project_resource(project, api_version="garden.airflow.io/v1alpha1")
    assert resource["spec"]["namespace"] == "garden-team-a"  # type: ignore[index]
    assert parse_project(resource, provider_namespace="garden-system") == project


@pytest.mark.parametrize(
    ("name", "spec", "problems"),
    [
        ("system", {"owner": "o"}, ["metadata.name: project 'system' is reserved"]),
        ("a--b", {"owner": "o"}, ["metadata.name: project 'a--b' must not contain '--'"]),
        ("123", {"owner": "o"}, ["metadata.name: project '123' must contain a letter"]),
        ("team-a", {}, ["spec.owner: must be a user name, got None"]),
        (
            "team-a",
            {"owner": "o", "namespace": "elsewhere"},
            ["spec.namespace: must be 'garden-team-a'"],
        ),
        (
            "team-a",
            {"owner": "o", "members": [{"name": "x", "role": "owner"}, {"role": "admin"}]},
            [
                "spec.members[0].role: must be one of admin, viewer, got 'owner'",
                "spec.members[1].name: must be a user name, got None",
            ],
        ),
        (
            "team-a",
            {"owner": "o", "quota": {"maxShoots": -1, "maxMachines": True}},
            [
                "spec.quota.maxShoots: must be an integer >= 0, got -1",
                "spec.quota.maxMachines: must be an integer >= 0, got True",
            ],
        ),
    ],
)
def test_malformed_project_names_every_field(
    name: str, spec: dict[str, Any], problems: list[str]
) -> None:
    resource = {**_resource(**spec), "metadata": {"name": name}}
    with pytest.raises(SpecError) as caught:
        parse_project(resource, provider_namespace="garden-system")
    text = [str(e) for e in caught.value.errors]
    assert len(text) == len(problems)
    for line, expected in zip(text, problems, strict=True):
        assert line.startswith(expected), line
