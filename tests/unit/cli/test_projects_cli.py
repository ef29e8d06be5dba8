"""`garden projects create`: the arguments become a Project the resource reader accepts."""

from __future__ import annotations

import argparse

import pytest

from airflow_provider_garden.cli.main import build_parser
from airflow_provider_garden.cli.projects import requested_project
from airflow_provider_garden.core.project import Member, Quota, Role
from airflow_provider_garden.core.spec_fields import SpecError


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["projects", "create", *argv])


def test_the_owner_is_an_admin_and_members_keep_their_roles() -> None:
    project = requested_project(
        _args("team-a", "--owner", "olga", "--viewer", "vic", "--max-shoots", "2")
    )
    assert project.members == (Member("olga", Role.ADMIN), Member("vic", Role.VIEWER))
    assert project.quota == Quota(max_shoots=2)
    assert project.namespace == "garden-team-a"


def test_an_owner_listed_as_viewer_stays_viewer() -> None:
    project = requested_project(_args("team-a", "--owner", "olga", "--viewer", "olga"))
    assert project.members == (Member("olga", Role.VIEWER),)


@pytest.mark.parametrize(
    ("argv", "rule"),
    [
        (("system", "--owner", "o"), "metadata.name: project 'system' is reserved"),
        (("a--b", "--owner", "o"), "metadata.name: project 'a--b' must not contain '--'"),
        (("team-a", "--owner", "o", "--max-machines", "-1"), "spec.quota.maxMachines"),
    ],
)
def test_a_bad_project_is_refused_naming_field_and_rule(argv: tuple[str, ...], rule: str) -> None:
    with pytest.raises(SpecError, match=rule):
        requested_project(_args(*argv))
