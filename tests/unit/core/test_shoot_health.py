from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_garden.core.shoot_health import REQUIRED_CONDITIONS, Verdict, shoot_health


def _shoot(
    state: str | None, *, conditions: str = "True", codes: tuple[str, ...] = (), observed: int = 1
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "observedGeneration": observed,
        "conditions": [{"type": t, "status": conditions} for t in REQUIRED_CONDITIONS],
    }
    if state:
        status["lastOperation"] = {"type": "Create", "state": state, "progress": 50}
    if codes:
        status["lastErrors"] = [{"description": "x", "codes": list(codes)}]
    return {"metadata": {"generation": 1}, "status": status}


@pytest.mark.parametrize(
    ("shoot", "verdict"),
    [
        (None, Verdict.WAITING),
        (_shoot(None), Verdict.WAITING),
        (_shoot("Processing"), Verdict.WAITING),
        (_shoot("Error"), Verdict.WAITING),  # retryable: the next reconcile may fix it
        (_shoot("Error", codes=("ERR_CONFIGURATION_PROBLEM",)), Verdict.FAILED),
        (_shoot("Failed"), Verdict.FAILED),
        (_shoot("Succeeded", conditions="False"), Verdict.WAITING),
        (_shoot("Succeeded", observed=0), Verdict.WAITING),
        (_shoot("Succeeded"), Verdict.READY),
    ],
)
def test_verdicts(shoot: dict[str, Any] | None, verdict: Verdict) -> None:
    assert shoot_health(shoot).verdict is verdict


@pytest.mark.parametrize(
    ("code", "verdict"),
    [
        ("ERR_INFRA_UNAUTHORIZED", Verdict.FAILED),
        ("ERR_INFRA_QUOTA_EXCEEDED", Verdict.FAILED),
        ("ERR_RETRYABLE_INFRA_DEPENDENCIES", Verdict.WAITING),
    ],
)
def test_only_non_retryable_codes_fail_at_once(code: str, verdict: Verdict) -> None:
    health = shoot_health(_shoot("Error", codes=(code,)))
    assert health.verdict is verdict
    if verdict is Verdict.FAILED:
        assert code in health.message


def test_a_status_no_version_wrote_fails_naming_the_field() -> None:
    shoot = _shoot("Succeeded")
    shoot["status"]["conditions"][0]["status"] = "Perhaps"
    health = shoot_health(shoot)
    assert health.verdict is Verdict.FAILED
    assert "status.conditions[0].status" in health.message


def test_a_non_retryable_error_is_named_with_its_code_task_and_message() -> None:
    shoot = _shoot("Failed")
    shoot["status"]["lastErrors"] = [
        {
            "description": "pod shoot--p--s/etcd-0 cannot be scheduled (for 15s): 1 Insufficient cpu",
            "codes": ["ERR_INFRA_QUOTA_EXCEEDED"],
            "taskID": "Waiting until etcd is ready",
        },
        {"description": "not yet", "codes": ["ERR_RETRYABLE_INFRA_DEPENDENCIES"]},
    ]
    health = shoot_health(shoot)
    assert health.verdict is Verdict.FAILED
    assert health.message == (
        "Create Failed, retrying cannot fix it: ERR_INFRA_QUOTA_EXCEEDED in task "
        "'Waiting until etcd is ready': pod shoot--p--s/etcd-0 cannot be scheduled "
        "(for 15s): 1 Insufficient cpu"
    )


def test_the_errors_of_a_run_being_retried_do_not_fail_it() -> None:
    """lastErrors stay until the next run ends; while it runs they are its predecessor's."""
    health = shoot_health(_shoot("Processing", codes=("ERR_CONFIGURATION_PROBLEM",)))
    assert health.verdict is Verdict.WAITING
