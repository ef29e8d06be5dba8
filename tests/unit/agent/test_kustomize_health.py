from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_garden.agent.kustomize_health import failed_job, missing


def workload(kind: str, spec: dict[str, Any], status: dict[str, Any], generation: int = 2) -> dict:
    return {"kind": kind, "metadata": {"generation": generation}, "spec": spec, "status": status}


DONE = {"observedGeneration": 2, "updatedReplicas": 3, "availableReplicas": 3, "replicas": 3}


@pytest.mark.parametrize(
    ("obj", "why"),
    [
        (None, "not found"),
        (workload("Deployment", {"replicas": 3}, DONE), None),
        (
            workload("Deployment", {"replicas": 3}, DONE | {"observedGeneration": 1}),
            "rollout not observed yet",
        ),
        (
            workload("Deployment", {"replicas": 3}, DONE | {"availableReplicas": 1}),
            "3/3 updated, 1/3 available",
        ),
        (
            workload("Deployment", {"replicas": 3}, DONE | {"replicas": 4}),
            "4 replicas while old ones terminate (want 3)",
        ),
        (
            workload(
                "StatefulSet",
                {"replicas": 3},
                DONE | {"currentRevision": "a", "updateRevision": "b", "updatedReplicas": 1},
            ),
            "rolling update in progress (1/3 updated)",
        ),
        (
            workload(
                "StatefulSet",
                {"replicas": 3, "updateStrategy": {"type": "OnDelete"}},
                DONE | {"currentRevision": "a", "updateRevision": "b"},
            ),
            None,
        ),
        (
            workload(
                "DaemonSet",
                {},
                {
                    "observedGeneration": 2,
                    "desiredNumberScheduled": 2,
                    "updatedNumberScheduled": 2,
                    "numberAvailable": 1,
                },
            ),
            "2/2 updated, 1/2 available",
        ),
        (workload("Job", {"completions": 2}, {"succeeded": 1}), "1/2 completions"),
        (
            workload("Job", {}, {"conditions": [{"type": "Complete", "status": "True"}]}),
            None,
        ),
    ],
)
def test_missing_names_what_keeps_a_workload_unhealthy(obj: dict | None, why: str | None) -> None:
    assert missing(obj) == why


def test_failed_job_is_reported_at_once() -> None:
    job = workload(
        "Job",
        {},
        {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]},
    )
    assert failed_job(job) == "failed: BackoffLimitExceeded"
    assert failed_job(workload("Deployment", {}, {})) is None
