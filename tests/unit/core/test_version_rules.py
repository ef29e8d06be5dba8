"""Kubernetes versions of a stored shoot only go forward, one minor at a time."""

from __future__ import annotations

import pytest

from airflow_provider_garden.core.version_rules import running_version, version_change_problem


@pytest.mark.parametrize(
    ("running", "wanted"),
    [("1.32.11", "1.32.11"), ("1.32.11", "1.32.13"), ("1.31.9", "1.32.1"), ("v1.31.9", "1.32.3")],
)
def test_forward_by_at_most_one_minor_is_allowed(running: str, wanted: str) -> None:
    assert version_change_problem(running, wanted) is None


@pytest.mark.parametrize(
    ("running", "wanted", "said"),
    [
        ("1.32.13", "1.32.11", "would downgrade the shoot from 1.32.13"),
        ("1.32.1", "1.31.9", "would downgrade"),
        ("1.31.9", "1.33.0", "skips a minor version after 1.31.9: update to 1.32 first"),
    ],
)
def test_a_downgrade_or_a_skipped_minor_is_refused_naming_the_field(
    running: str, wanted: str, said: str
) -> None:
    problem = version_change_problem(running, wanted)
    assert problem is not None
    assert problem.path == "spec.kubernetes.version"
    assert said in problem.rule


def test_what_runs_is_what_reconcile_observed_else_the_spec() -> None:
    spec = {"spec": {"kubernetes": {"version": "1.32.13"}}}
    assert running_version(spec) == "1.32.13"
    assert running_version({**spec, "status": {"kubernetesVersion": "1.32.11"}}) == "1.32.11"
