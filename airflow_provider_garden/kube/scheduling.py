"""What the seed says about placing a workload's pods: their PodScheduled condition and
the scheduler's FailedScheduling events (the evidence for ERR_INFRA_QUOTA_EXCEEDED)."""

from __future__ import annotations

from airflow_provider_garden.core.error_codes import PodScheduling
from airflow_provider_garden.kube.client import KubeClient, Manifest


def pods_scheduling(kube: KubeClient, namespace: str, selector: str) -> list[PodScheduling]:
    """One record per pod matching ``selector``; events are read only for unplaced pods."""
    return [
        _scheduling(kube, pod) for pod in kube.list("v1", "Pod", namespace, label_selector=selector)
    ]


def _scheduling(kube: KubeClient, pod: Manifest) -> PodScheduling:
    meta = pod["metadata"]
    scheduled: Manifest = next(
        (
            c
            for c in (pod.get("status") or {}).get("conditions") or []
            if c.get("type") == "PodScheduled"
        ),
        {},
    )
    unschedulable = (
        scheduled.get("status") == "False" and scheduled.get("reason") == "Unschedulable"
    )
    events: tuple[str, ...] = ()
    if unschedulable:
        found = kube.list(
            "v1",
            "Event",
            meta["namespace"],
            field_selector=f"involvedObject.name={meta['name']},reason=FailedScheduling",
        )
        found.sort(key=_event_time)
        events = tuple(e.get("message") or "" for e in found)
    return PodScheduling(
        pod=f"{meta['namespace']}/{meta['name']}",
        unschedulable=unschedulable,
        message=scheduled.get("message") or "",
        events=events,
    )


def pod_events(kube: KubeClient, namespace: str, name: str) -> list[Manifest]:
    """Every event the seed keeps about the pod ``namespace/name``, in no particular order."""
    return kube.list("v1", "Event", namespace, field_selector=f"involvedObject.name={name}")


def _event_time(event: Manifest) -> str:
    # RFC 3339 UTC strings sort as times; newer events carry eventTime, older lastTimestamp.
    return str(event.get("lastTimestamp") or event.get("eventTime") or "")
