"""The reaper's edge: a pod's task identity from its annotations, and Airflow's answers read right."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowRuntimeError, ErrorType
from airflow.sdk.execution_time.comms import ErrorResponse

from airflow_provider_garden.core.pod_reaper import ReapCandidate, TaskKey
from airflow_provider_garden.operators.pod import (
    DAG_ANNOTATION,
    INSTANCE_LABEL,
    KEPT_LABEL,
    MAP_INDEX_ANNOTATION,
    RUN_ANNOTATION,
    TASK_ANNOTATION,
)
from airflow_provider_garden.operators.reaper import candidate, known_dags, task_states


class _Airflow:
    """Answers like the Task SDK's RuntimeTaskInstance does, from a table."""

    def __init__(self, dags: set[str], states: dict[TaskKey, str | None]) -> None:
        self.dags = dags
        self.states = states
        self.asked: list[dict[str, Any]] = []

    def get_dag(self, dag_id: str) -> Any:
        if dag_id not in self.dags:
            raise AirflowRuntimeError(
                ErrorResponse(error=ErrorType.API_SERVER_ERROR, detail={"status_code": 404})
            )
        return {"dag_id": dag_id}

    def get_task_states(self, dag_id: str, **kw: Any) -> dict[str, Any]:
        self.asked.append({"dag_id": dag_id, **kw})
        (task_id,), (run_id,), map_index = kw["task_ids"], kw["run_ids"], kw["map_index"]
        key = TaskKey(dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index)
        if key not in self.states:
            return {}
        name = task_id if map_index < 0 else f"{task_id}_{map_index}"
        return {run_id: {name: self.states[key]}}


def pod(annotations: dict[str, str], labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "metadata": {
            "namespace": "ns",
            "name": "p",
            "annotations": annotations,
            "labels": labels or {},
        }
    }


IDENTITY = {
    DAG_ANNOTATION: "d",
    RUN_ANNOTATION: "manual__2026-11-30T03:42:35+00:00",
    TASK_ANNOTATION: "t",
    MAP_INDEX_ANNOTATION: "4",
}


def test_the_identity_comes_from_the_exact_annotations() -> None:
    assert candidate(pod(IDENTITY, {KEPT_LABEL: "true", INSTANCE_LABEL: "airflow-a"})) == (
        ReapCandidate(
            namespace="ns",
            name="p",
            owner=TaskKey(dag_id="d", run_id=IDENTITY[RUN_ANNOTATION], task_id="t", map_index=4),
            kept=True,
            instance="airflow-a",
        )
    )
    assert candidate(pod(IDENTITY)).instance is None
    assert candidate(pod({DAG_ANNOTATION: "d"})).owner is None


def test_only_a_404_means_the_dag_is_unknown() -> None:
    assert known_dags(_Airflow({"d"}, {}), ["d", "gone", "d"]) == {"d"}

    class _Down(_Airflow):
        def get_dag(self, dag_id: str) -> Any:
            raise AirflowRuntimeError(
                ErrorResponse(error=ErrorType.API_SERVER_ERROR, detail={"status_code": 503})
            )

    with pytest.raises(AirflowRuntimeError):
        known_dags(_Down(set(), {}), ["d"])


def test_each_task_instance_is_asked_for_exactly() -> None:
    mapped = TaskKey(dag_id="d", run_id="r", task_id="t", map_index=4)
    plain = TaskKey(dag_id="d", run_id="r", task_id="t_4")
    missing = TaskKey(dag_id="d", run_id="gone", task_id="t")
    airflow = _Airflow({"d"}, {mapped: "running", plain: "success"})
    assert task_states(airflow, [mapped, plain, missing]) == {
        mapped: "running",
        plain: "success",
    }
    assert {(q["task_ids"][0], q["map_index"]) for q in airflow.asked} == {
        ("t", 4),
        ("t_4", -1),
        ("t", -1),
    }
