"""ShootCareOperator: its arguments, and bad inputs refused before any pod exists."""

from __future__ import annotations

import pytest

from airflow_provider_garden.agent.care import summary
from airflow_provider_garden.agent.main import build_parser
from airflow_provider_garden.agent.result import TERMINATION_LIMIT, emit
from airflow_provider_garden.operators.care import ShootCareOperator
from airflow_provider_garden.operators.pod import AgentResultError


def test_arguments_carry_project_parallelism_and_thresholds_the_agent_accepts() -> None:
    task = ShootCareOperator(
        task_id="care", project="team-a", thresholds='{"ControlPlaneHealthy": 1.5}', parallelism=4
    )
    assert task.service_account_name == "garden-care"
    task.validate_inputs()
    assert task.arguments == [
        "--garden-namespace",
        "garden-system",
        "care",
        "--parallelism",
        "4",
        "--project",
        "team-a",
        "--threshold",
        "ControlPlaneHealthy=1.5",
    ]
    args = build_parser().parse_args(task.arguments)
    assert (args.project, args.parallelism, args.threshold) == (
        "team-a",
        4,
        [("ControlPlaneHealthy", 1.5)],
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"thresholds": {"Nope": 1}}, "thresholds.Nope: must be one of"),
        ({"thresholds": {"EveryNodeReady": -1}}, "thresholds.EveryNodeReady: must be seconds"),
        ({"parallelism": 0}, "parallelism: must be at least 1"),
    ],
)
def test_bad_inputs_name_the_field(kwargs: dict[str, object], message: str) -> None:
    task = ShootCareOperator(task_id="care", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        task.validate_inputs()


def test_a_shoot_that_could_not_be_judged_fails_the_task_naming_it() -> None:
    task = ShootCareOperator(task_id="care")
    healthy = {"shoot": "garden-a/x", "status": "unhealthy", "conditions": {"A": "False: x"}}
    assert task.validate_result(summary([healthy]))["unhealthy"] == [
        "garden-a/x: {'A': 'False: x'}"
    ]
    broken = {"shoot": "garden-a/y", "error": "Conflict: 409"}
    with pytest.raises(AgentResultError, match="1 of 2 shoots: garden-a/y: Conflict: 409"):
        task.validate_result(summary([healthy, broken]))


def test_the_summary_of_a_large_fleet_fits_a_termination_message() -> None:
    results = [
        {"shoot": f"garden-p/s{i}", "status": "unhealthy", "conditions": {"X": "x" * 500}}
        for i in range(1000)
    ] + [{"shoot": f"garden-p/e{i}", "error": "e" * 500} for i in range(1000)]
    text = emit(summary(results))
    assert len(text.encode()) < TERMINATION_LIMIT
    assert '"errorCount":1000' in text
