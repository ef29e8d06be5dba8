"""The reconcile pod's write of a new Kubernetes version (it holds the shoot's Lease):
a compare-and-swap whose refusal names the field and is reported on the Shoot."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_garden.agent.shoot_reconcile import _set_kubernetes_version
from airflow_provider_garden.core.spec_fields import SpecError
from airflow_provider_garden.core.status import ErrorCode, OperationState
from airflow_provider_garden.kube.errors import Conflict


def read(version: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "dev", "namespace": "garden-team", "resourceVersion": "7"},
        "spec": {"kubernetes": {"version": version}},
        "status": {"lastOperation": {"type": "Reconcile", "state": "Succeeded", "progress": 100}},
    }


class FakeShoots:
    """Records spec patches and reports; ``conflict`` makes the patch answer 409."""

    def __init__(self, *, conflict: bool = False) -> None:
        self.conflict = conflict
        self.patches: list[tuple[str, str, dict[str, Any]]] = []
        self.reports: list[dict[str, Any]] = []

    def patch_spec(self, project: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        self.patches.append((project, name, patch))
        if self.conflict:
            raise Conflict(
                {"code": 409, "reason": "Conflict", "message": "the object has been modified"}
            )
        return read(patch["spec"]["kubernetes"]["version"])

    def report(self, project: str, name: str, **kwargs: Any) -> dict[str, Any]:
        self.reports.append({"shoot": f"{project}/{name}", **kwargs})
        return {}


def test_the_version_is_written_with_the_resource_version_read_under_the_lease() -> None:
    shoots = FakeShoots()
    written = _set_kubernetes_version(shoots, read("1.32.11"), "1.32.13", "1.32.11")  # type: ignore[arg-type]
    assert shoots.patches == [
        (
            "team",
            "dev",
            {"metadata": {"resourceVersion": "7"}, "spec": {"kubernetes": {"version": "1.32.13"}}},
        )
    ]
    assert written["spec"]["kubernetes"]["version"] == "1.32.13"  # reconciled as returned
    assert shoots.reports == []


def test_a_spec_already_on_the_version_is_not_written() -> None:
    shoots = FakeShoots()
    shoot = read("1.32.13")
    assert _set_kubernetes_version(shoots, shoot, "1.32.13", "1.32.11") is shoot  # type: ignore[arg-type]
    assert shoots.patches == []


@pytest.mark.parametrize(
    ("spec_version", "conflict", "said"),
    [
        ("1.33.1", False, "now asks for 1.33.1; not overwritten"),  # changed since the plan
        ("1.32.11", True, "changed while 1.32.13 was being written (409 Conflict)"),
    ],
)
def test_a_spec_changed_under_the_update_is_refused_naming_the_field(
    spec_version: str, conflict: bool, said: str
) -> None:
    shoots = FakeShoots(conflict=conflict)
    with pytest.raises(SpecError) as err:
        _set_kubernetes_version(shoots, read(spec_version), "1.32.13", "1.32.11")  # type: ignore[arg-type]
    [problem] = err.value.errors
    assert problem.path == "spec.kubernetes.version"
    assert said in problem.rule
    assert len(shoots.patches) == int(conflict)  # a changed spec is not even sent
    [report] = shoots.reports
    assert report["state"] is OperationState.FAILED  # a retry would find the same
    [error] = report["errors"]
    assert error.codes == (ErrorCode.CONFIGURATION_PROBLEM,)
    assert "spec.kubernetes.version" in error.description
