"""Project and shoot name rules: each bad value is refused naming its rule."""

from __future__ import annotations

import pytest

from airflow_provider_garden.core.name_rules import (
    PROJECT_MAX,
    ensure_projects,
    name_problem,
    project_errors,
    project_problem,
    reserved_projects,
)
from airflow_provider_garden.core.settings import DEFAULTS
from airflow_provider_garden.core.spec_fields import SpecError

OWN = DEFAULTS.namespace


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("system", f"'system' is reserved: its namespace '{OWN}' is the provider's own"),
        ("garden", "'garden' is reserved: the name is kept for the provider's own use"),
        ("123", "'123' must contain a letter: a digits-only value becomes a number"),
        (123, "123 must be text, got int (a digits-only name becomes a number"),
        (None, "None must be text, got NoneType"),
        ("Team_A", "'Team_A' must be a DNS-1123 label"),
        ("-team", "'-team' must be a DNS-1123 label"),
        ("", "'' must be a DNS-1123 label"),
        ("a--b", "'a--b' must not contain '--' (it separates project and name"),
        ("a" * (PROJECT_MAX + 1), f"'{'a' * (PROJECT_MAX + 1)}' has 54 characters, more than 53"),
    ],
)
def test_bad_projects_are_refused_naming_the_rule(value: object, rule: str) -> None:
    problem = project_problem(value, provider_namespace=OWN)
    assert problem is not None
    assert problem.startswith(rule)


@pytest.mark.parametrize("value", ["team-a", "a", "1a", "x1", "a" * PROJECT_MAX, "garden-x"])
def test_good_projects_pass(value: str) -> None:
    assert project_problem(value, provider_namespace=OWN) is None


def test_the_longest_project_still_leaves_room_for_a_shoot_name() -> None:
    assert len(f"shoot--{'a' * PROJECT_MAX}--x") == 63


def test_the_project_of_a_configured_provider_namespace_is_reserved() -> None:
    assert reserved_projects("garden-ops") == {"garden", "system", "ops"}
    assert project_problem("ops", provider_namespace="garden-ops") == (
        "'ops' is reserved: its namespace 'garden-ops' is the provider's own ([garden] namespace)"
    )
    # A provider namespace outside garden-* shadows no project; the fixed names stay reserved.
    assert reserved_projects("fleet-ops") == {"garden", "system"}
    assert project_problem("ops", provider_namespace="fleet-ops") is None


def test_shoot_names_keep_their_rules_and_refuse_numbers_with_the_reason() -> None:
    assert name_problem("123") is None  # a DNS label; only projects need a letter
    assert name_problem(123) == (
        "123 must be text, got int (a digits-only name becomes a number in templates "
        "rendered as native objects; use a name with a letter)"
    )
    assert name_problem("dev") is None


def test_errors_name_each_field() -> None:
    errors = project_errors([("project", "team-a"), ("target", "system")], provider_namespace=OWN)
    assert [str(e) for e in errors] == [
        f"target: project 'system' is reserved: its namespace '{OWN}' is the provider's own "
        "([garden] namespace)"
    ]
    with pytest.raises(
        SpecError, match=r"invalid project \(1 problem\(s\)\):\n- project: project 123"
    ):
        ensure_projects([("project", 123)], provider_namespace=OWN)
    ensure_projects([("project", "team-a")], provider_namespace=OWN)
