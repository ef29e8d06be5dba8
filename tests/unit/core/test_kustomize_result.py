from __future__ import annotations

import json

import pytest

from airflow_provider_garden.core.kustomize_diff import Action, Change, DiffSummary
from airflow_provider_garden.core.kustomize_objects import ObjectRef
from airflow_provider_garden.core.kustomize_result import (
    build_result,
    conflicts,
    error_text,
    immutable_fields,
)

JOB_422 = {
    "kind": "Status",
    "code": 422,
    "reason": "Invalid",
    "message": 'Job.batch "j1" is invalid: spec.template: Invalid value: '
    'core.PodTemplateSpec{Env:"PASSWORD=hunter2"}: field is immutable',
    "details": {
        "causes": [
            {
                "reason": "FieldValueInvalid",
                "message": 'Invalid value: core.PodTemplateSpec{Env:"PASSWORD=hunter2"}: '
                "field is immutable",
                "field": "spec.template",
            }
        ]
    },
}
SERVICE_422 = {
    "code": 422,
    "details": {
        "causes": [
            {
                "message": 'Invalid value: []string{"10.96.0.9"}: may not change once set',
                "field": "spec.clusterIPs[0]",
            }
        ]
    },
}
CONFLICT_409 = {
    "code": 409,
    "reason": "Conflict",
    "details": {
        "causes": [
            {
                "reason": "FieldManagerConflict",
                "message": 'conflict with "kubectl-edit" using apps/v1',
                "field": ".spec.replicas",
            }
        ]
    },
}


@pytest.mark.parametrize(
    ("status", "fields"),
    [
        (JOB_422, ["spec.template (field is immutable)"]),
        (SERVICE_422, ["spec.clusterIPs[0] (may not change once set)"]),
        ({"code": 422, "details": {"causes": [{"message": "Required value"}]}}, []),
        (CONFLICT_409, []),
    ],
)
def test_immutable_fields_name_field_and_rule(status: dict, fields: list[str]) -> None:
    assert immutable_fields(status) == fields


def test_values_never_reach_messages() -> None:
    assert "hunter2" not in error_text(JOB_422)
    assert error_text(JOB_422) == "422 Invalid: spec.template: field is immutable"


def test_conflicts_name_field_and_manager() -> None:
    assert conflicts(CONFLICT_409) == [".spec.replicas (owned by kubectl-edit)"]


def summary_of(n: int) -> DiffSummary:
    return DiffSummary(
        changes=[
            Change(
                ref=ObjectRef("", "ConfigMap", "team", f"settings-{i:04d}"),
                action=Action.CREATE if i % 2 else Action.UNCHANGED,
            )
            for i in range(n)
        ]
    )


def test_small_result_is_complete() -> None:
    result = build_result(
        mode="apply",
        target="seed",
        inventory="kube-system/garden-inventory-x",
        summary=summary_of(4),
        pruned=["ConfigMap/team/old"],
    )
    assert result["changed"] is True
    assert result["counts"] | {} == {
        "create": 2,
        "update": 0,
        "unchanged": 2,
        "recreate": 0,
        "applied": 2,
        "pruned": 1,
        "kept": 0,
    }
    assert "truncated" not in result


def test_large_result_fits_and_says_what_was_cut() -> None:
    result = build_result(
        mode="apply", target="p/n", inventory="kube-system/i", summary=summary_of(400)
    )
    assert len(json.dumps(result, separators=(",", ":")).encode()) <= 3800
    assert result["counts"]["applied"] == 200
    assert result["truncated"]["applied"] == 200 - len(result["applied"])
    assert result["truncated"]["diff"] == 200 - len(result["diff"])
