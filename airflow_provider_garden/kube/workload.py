"""Readiness of workloads, read from their status the way kubectl rollout status does."""

from __future__ import annotations

from airflow_provider_garden.kube.client import KubeClient


def deployment_available(kube: KubeClient, namespace: str, name: str) -> bool:
    return _rolled_out(
        kube, "Deployment", namespace, name, ("updatedReplicas", "availableReplicas", "replicas")
    )


def statefulset_ready(kube: KubeClient, namespace: str, name: str) -> bool:
    return _rolled_out(kube, "StatefulSet", namespace, name, ("readyReplicas", "updatedReplicas"))


def _rolled_out(
    kube: KubeClient, kind: str, namespace: str, name: str, counters: tuple[str, ...]
) -> bool:
    """The controller has seen the latest spec and each of ``counters`` equals the replicas."""
    obj = kube.find("apps/v1", kind, name, namespace)
    if obj is None:
        return False
    status = obj.get("status") or {}
    want = obj["spec"].get("replicas", 1)
    seen = status.get("observedGeneration", 0) >= obj["metadata"]["generation"]
    return bool(seen and all(status.get(counter, 0) == want for counter in counters))
