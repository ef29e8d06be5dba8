"""Readiness of workloads, read from their status the way kubectl rollout status does."""

from __future__ import annotations

from airflow_provider_garden.kube.client import KubeClient


def deployment_available(kube: KubeClient, namespace: str, name: str) -> bool:
    obj = kube.find("apps/v1", "Deployment", name, namespace)
    if obj is None:
        return False
    spec, status = obj["spec"], obj.get("status") or {}
    want = spec.get("replicas", 1)
    return bool(
        status.get("observedGeneration", 0) >= obj["metadata"]["generation"]
        and status.get("updatedReplicas", 0) == want
        and status.get("availableReplicas", 0) == want
        and status.get("replicas", 0) == want
    )


def statefulset_ready(kube: KubeClient, namespace: str, name: str) -> bool:
    obj = kube.find("apps/v1", "StatefulSet", name, namespace)
    if obj is None:
        return False
    spec, status = obj["spec"], obj.get("status") or {}
    want = spec.get("replicas", 1)
    return bool(
        status.get("observedGeneration", 0) >= obj["metadata"]["generation"]
        and status.get("readyReplicas", 0) == want
        and status.get("updatedReplicas", 0) == want
    )
