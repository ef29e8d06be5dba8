"""The shared pod path on a seed without room for the agent pod (the Kubernetes client faked).

The operator waits for its pod to start; a pod the scheduler has no room for stays
Pending. Past ``[garden] unschedulable_grace_seconds`` the task fails with
ERR_INFRA_QUOTA_EXCEEDED naming the pod and the scheduler's reason, the pod is
deleted, and a shoot operator writes the code into an existing Shoot. A briefly
queued pod, or one pending for another reason, is not this error.
"""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes.client import models as k8s

from airflow_provider_garden.core.error_codes import UNEXPLAINED, codes_for
from airflow_provider_garden.core.settings import GardenSettings
from airflow_provider_garden.core.status import ErrorCode, OperationState, ShootStatus
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.kube.shoots import Shoots
from airflow_provider_garden.operators.pod import AgentPodOperator, AgentStartupError
from airflow_provider_garden.operators.shoot import ShootCreateOperator

NAMESPACE, POD = "garden-system", "garden-shoot-reconcile-abc123"
NO_CPU = "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available."
UNBOUND = "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims."
GRACE = dt.timedelta(seconds=0.2)


def pending(reason: str | None) -> dict[str, Any]:
    """The pod as the seed returns it: unschedulable with ``reason``, or not judged yet."""
    conditions = (
        [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": reason}]
        if reason
        else []
    )
    return {
        "metadata": {"name": POD, "namespace": NAMESPACE},
        "status": {"phase": "Pending", "conditions": conditions},
    }


RUNNING = {"metadata": {"name": POD, "namespace": NAMESPACE}, "status": {"phase": "Running"}}


def failed_scheduling(message: str) -> dict[str, Any]:
    return {
        "metadata": {"uid": message},
        "involvedObject": {"kind": "Pod", "name": POD},
        "type": "Warning",
        "reason": "FailedScheduling",
        "message": message,
        "eventTime": "2026-12-07T10:00:00.000000Z",
    }


class FakeSeed:
    """The seed as the operator's KubeClient sees it: one pod, its events and Shoots.

    Each read of the pod returns the next of ``looks`` (the last one repeats) until the
    pod is deleted.
    """

    def __init__(
        self, looks: list[dict[str, Any]], events: list[dict[str, Any]], shoot: Any = None
    ) -> None:
        self.looks = looks
        self.events = events
        self.shoot = shoot
        self.deleted: list[str] = []
        self.status_patches: list[dict[str, Any]] = []

    def find(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
        if kind == "Shoot":
            return self.shoot
        assert (kind, name, namespace) == ("Pod", POD, NAMESPACE)
        if self.deleted:
            return None
        return self.looks.pop(0) if len(self.looks) > 1 else self.looks[0]

    def list(self, api_version: str, kind: str, namespace: str | None = None, **query: Any) -> Any:
        assert (kind, namespace, query) == (
            "Event",
            NAMESPACE,
            {"field_selector": f"involvedObject.name={POD}"},
        )
        return self.events

    def raw(self, method: str, path: str) -> None:
        assert method == "DELETE"
        self.deleted.append(path)

    def merge_patch(
        self, api_version: str, kind: str, name: str, body: Any, namespace: Any, subresource: Any
    ) -> Any:
        assert (kind, subresource) == ("Shoot", "status")
        self.status_patches.append(body)
        return body


class _Check(AgentPodOperator):
    verb = ("check", "it")


def operator(
    seed: FakeSeed,
    cls: type[AgentPodOperator] = _Check,
    *,
    grace: dt.timedelta = GRACE,
    **kwargs: Any,
) -> Any:
    settings = GardenSettings(unschedulable_grace=grace)
    op = cls(task_id="t", settings=settings, startup_check_interval_seconds=0.01, **kwargs)
    op.__dict__["_kube"] = seed  # the cached KubeClient
    return op


POD_REF = k8s.V1Pod(metadata=k8s.V1ObjectMeta(name=POD, namespace=NAMESPACE))


def test_a_pod_without_room_fails_the_task_with_the_code_the_pod_and_the_reason() -> None:
    seed = FakeSeed([pending(NO_CPU)], [failed_scheduling(NO_CPU)])
    with pytest.raises(AgentStartupError) as failed:
        operator(seed).await_pod_start(POD_REF)
    message = str(failed.value)
    first = (
        f"ERR_INFRA_QUOTA_EXCEEDED: pod {NAMESPACE}/{POD} cannot be scheduled (for 0s): {NO_CPU}"
    )
    assert re.sub(r"\(for \d+s\)", "(for 0s)", message).startswith(first)
    assert f"Warning FailedScheduling: {NO_CPU}" in message  # the pod's events follow
    assert codes_for(failed.value) == (ErrorCode.INFRA_QUOTA_EXCEEDED,)
    assert seed.deleted == [f"/api/v1/namespaces/{NAMESPACE}/pods/{POD}"]


def test_a_pod_queued_for_a_moment_starts_and_nothing_is_deleted() -> None:
    # Unschedulable for less than the grace period, then placed (room appeared).
    seed = FakeSeed([pending(NO_CPU), pending(NO_CPU), RUNNING], [failed_scheduling(NO_CPU)])
    operator(seed, grace=dt.timedelta(seconds=60)).await_pod_start(POD_REF)
    assert seed.deleted == []


def test_a_pod_pending_for_another_reason_waits_out_the_timeout_without_the_code() -> None:
    seed = FakeSeed([pending(UNBOUND)], [failed_scheduling(UNBOUND)])
    op = operator(seed, startup_timeout_seconds=1)
    with pytest.raises(AgentStartupError, match=r"cannot start: not scheduled within 1s") as failed:
        op.await_pod_start(POD_REF)
    assert codes_for(failed.value) == (UNEXPLAINED,)
    # Never scheduled: left pending, it would run whenever it is placed.
    assert seed.deleted == [f"/api/v1/namespaces/{NAMESPACE}/pods/{POD}"]


def shoot(state: str | None) -> dict[str, Any]:
    status = {"lastOperation": {"type": "Reconcile", "state": state, "progress": 40}}
    return {
        "apiVersion": SHOOT_API_VERSION,
        "kind": "Shoot",
        "metadata": {"name": "dev", "namespace": "garden-team-a"},
        "status": status if state else {},
    }


@pytest.mark.parametrize("earlier", [None, "Error", "Succeeded"])
def test_a_shoot_operator_writes_the_code_into_an_existing_shoot(earlier: str | None) -> None:
    # Even over an earlier run's Error: this try's pod never ran, so it reported nothing.
    seed = FakeSeed([pending(NO_CPU)], [failed_scheduling(NO_CPU)], shoot=shoot(earlier))
    op = operator(seed, ShootCreateOperator, project="team-a", name="dev")
    op.__dict__["garden"] = SimpleNamespace(shoots=Shoots(seed))  # type: ignore[arg-type]
    with pytest.raises(AgentStartupError), op._failures_reported():
        op.await_pod_start(POD_REF)
    (patch,) = seed.status_patches
    status = ShootStatus.from_shoot(patch)
    assert status.last_operation is not None
    assert status.last_operation.state is OperationState.FAILED  # retrying cannot help
    assert status.last_operation.description == "task t failed: AgentStartupError"
    (error,) = status.last_errors
    assert (error.codes, error.task_id) == ((ErrorCode.INFRA_QUOTA_EXCEEDED,), "t")
    assert error.description.startswith(f"ERR_INFRA_QUOTA_EXCEEDED: pod {NAMESPACE}/{POD} ")
    assert "Insufficient cpu" in error.description


def test_a_create_whose_shoot_does_not_exist_yet_writes_nothing() -> None:
    seed = FakeSeed([pending(NO_CPU)], [failed_scheduling(NO_CPU)], shoot=None)
    op = operator(seed, ShootCreateOperator, project="team-a", name="dev")
    op.__dict__["garden"] = SimpleNamespace(shoots=Shoots(seed))  # type: ignore[arg-type]
    with (
        pytest.raises(AgentStartupError, match="ERR_INFRA_QUOTA_EXCEEDED"),
        op._failures_reported(),
    ):
        op.await_pod_start(POD_REF)
    assert seed.status_patches == []
