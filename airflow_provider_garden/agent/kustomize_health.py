"""Rollout health of applied workloads, judged like `kubectl rollout status`.

Deployments, StatefulSets and DaemonSets are healthy when the controller has
seen the newest generation and every replica is updated and available; Jobs
when they completed. A failed Job fails the wait at once; anything else that is
not healthy by the deadline is named with what it is missing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from airflow_provider_garden.core.kustomize_objects import ObjectRef
from airflow_provider_garden.kube.dynamic import ApiResource, DynamicClient

WORKLOAD_KINDS = {
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("batch", "Job"),
}


class UnhealthyError(RuntimeError):
    def __init__(self, message: str, unhealthy: Sequence[str]) -> None:
        super().__init__(message)
        self.unhealthy = list(unhealthy)


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind and c.get("status") == "True":
            return dict(c)
    return None


def missing(obj: dict[str, Any] | None) -> str | None:
    """What keeps a workload from being healthy; None when it is healthy."""
    if obj is None:
        return "not found"
    kind, spec, status = obj["kind"], obj.get("spec") or {}, obj.get("status") or {}
    if kind == "Job":
        if _condition(obj, "Complete"):
            return None
        return f"{status.get('succeeded', 0)}/{spec.get('completions', 1)} completions"
    if status.get("observedGeneration", 0) < obj["metadata"].get("generation", 0):
        return "rollout not observed yet"
    if kind == "DaemonSet":
        want = status.get("desiredNumberScheduled", 0)
        updated, available = (
            status.get("updatedNumberScheduled", 0),
            status.get("numberAvailable", 0),
        )
    else:
        want = spec.get("replicas", 1)
        updated, available = status.get("updatedReplicas", 0), status.get("availableReplicas", 0)
        rolling = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
        if (
            kind == "StatefulSet"
            and rolling
            and status.get("currentRevision") != status.get("updateRevision")
        ):
            # a finished rolling update makes the update revision the current one
            return f"rolling update in progress ({updated}/{want} updated)"
    if kind == "Deployment" and status.get("replicas", 0) > want:
        return f"{status.get('replicas')} replicas while old ones terminate (want {want})"
    if updated < want or available < want:
        return f"{updated}/{want} updated, {available}/{want} available"
    return None


def failed_job(obj: dict[str, Any] | None) -> str | None:
    if obj is None or obj["kind"] != "Job":
        return None
    cond = _condition(obj, "Failed")
    return f"failed: {cond.get('reason', '')}" if cond else None


def wait_healthy(
    kube: DynamicClient,
    workloads: Sequence[tuple[ObjectRef, ApiResource]],
    *,
    timeout: float,
    interval: float = 1.0,
) -> None:
    pending = list(workloads)
    deadline = time.monotonic() + timeout
    while pending:
        reasons: dict[str, str] = {}
        still = []
        for ref, res in pending:
            obj = kube.read(res, ref.name, ref.namespace)
            failure = failed_job(obj)
            if failure:
                raise UnhealthyError(f"{ref} {failure}", [str(ref)])
            why = missing(obj)
            if why:
                reasons[str(ref)] = why
                still.append((ref, res))
        pending = still
        if not pending:
            return
        if time.monotonic() > deadline:
            listing = "; ".join(f"{name}: {why}" for name, why in reasons.items())
            raise UnhealthyError(
                f"not healthy after {timeout:.0f}s: {listing}", sorted(reasons.keys())
            )
        time.sleep(interval)
