"""Plain readings of a pod and its events, as the API returns them (camelCase JSON).

The shared pod path decides from these: which earlier pod to reattach to
(`pod_attach`), whether a pod will ever start (`pod_startup`), whether it
succeeded, and how to explain a failure in one exception message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from airflow_provider_garden.core.manifest import Manifest
from airflow_provider_garden.core.pod_attach import PodFacts
from airflow_provider_garden.core.pod_startup import StartupFacts, Waiting

# The kubelet keeps the last 2048 bytes (or 80 lines) of output as the message of a
# failed container under FallbackToLogsOnError; a tail of it is enough to explain.
MESSAGE_TAIL = 1500
EVENT_LINES = 10


def _status(pod: Manifest) -> Manifest:
    return pod.get("status") or {}


def phase(pod: Manifest) -> str:
    return str(_status(pod).get("phase") or "Unknown")


def labels(pod: Manifest) -> Mapping[str, str]:
    return (pod.get("metadata") or {}).get("labels") or {}


def terminated(pod: Manifest, container: str) -> Manifest | None:
    """The container's terminated state, if it has terminated."""
    for status in _status(pod).get("containerStatuses") or []:
        if status.get("name") == container:
            state: Manifest | None = (status.get("state") or {}).get("terminated")
            return state
    return None


def succeeded(pod: Manifest, container: str) -> bool:
    end = terminated(pod, container)
    return phase(pod) == "Succeeded" and end is not None and end.get("exitCode") == 0


def attach_facts(pod: Manifest, *, checked_label: str, kept_label: str) -> PodFacts:
    meta = pod.get("metadata") or {}
    marks = labels(pod)
    return PodFacts(
        name=str(meta.get("name")),
        phase=phase(pod),
        created=str(meta.get("creationTimestamp") or ""),
        deleting=bool(meta.get("deletionTimestamp")),
        checked=marks.get(checked_label) == "True",
        kept=marks.get(kept_label) == "true",
    )


def startup_facts(pod: Manifest, events: Sequence[Manifest]) -> StartupFacts:
    meta = pod.get("metadata") or {}
    status = _status(pod)
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    scheduled = conditions.get("PodScheduled") or {}
    unschedulable = (
        scheduled.get("status") == "False" and scheduled.get("reason") == "Unschedulable"
    )
    waiting = tuple(
        Waiting(
            container=str(s.get("name")),
            reason=str(w.get("reason") or ""),
            message=str(w.get("message") or ""),
        )
        for s in [
            *(status.get("initContainerStatuses") or []),
            *(status.get("containerStatuses") or []),
        ]
        if (w := (s.get("state") or {}).get("waiting"))
    )
    return StartupFacts(
        phase=phase(pod),
        scheduled=scheduled.get("status") == "True",
        unschedulable=str(scheduled.get("message") or "Unschedulable") if unschedulable else "",
        waiting=waiting,
        mount_failures=tuple(
            str(e.get("message") or "") for e in events if e.get("reason") == "FailedMount"
        ),
        pod=f"{meta.get('namespace')}/{meta.get('name')}" if meta.get("name") else "",
        scheduling_failures=tuple(
            str(e.get("message") or "")
            for e in sorted(events, key=_last_seen)
            if e.get("reason") == "FailedScheduling"
        ),
    )


def _last_seen(event: Manifest) -> str:
    # RFC 3339 UTC strings sort as times. The scheduler writes events.k8s.io events: in
    # the core view a repeated one has its newest time in series.lastObservedTime.
    series = event.get("series") or {}
    return str(
        event.get("lastTimestamp") or series.get("lastObservedTime") or event.get("eventTime") or ""
    )


def event_lines(events: Sequence[Manifest], limit: int = EVENT_LINES) -> list[str]:
    """The last events, in the order they first happened: ``Warning FailedMount (x3): message``."""
    newest = sorted(
        events,
        key=lambda e: str(e.get("firstTimestamp") or e.get("eventTime") or e.get("lastTimestamp")),
    )
    lines = []
    for event in newest[-limit:]:
        count = event.get("count") or 1
        times = f" (x{count})" if count > 1 else ""
        lines.append(
            f"{event.get('type', 'Normal')} {event.get('reason', '')}{times}: "
            f"{str(event.get('message') or '').strip()}"
        )
    return lines


def with_events(text: str, events: Sequence[Manifest]) -> str:
    lines = event_lines(events)
    if not lines:
        return text
    return text + "\npod events:\n" + "\n".join(f"  {line}" for line in lines)


def failure_summary(pod: Manifest, container: str, events: Sequence[Manifest]) -> str:
    """Why a pod did not succeed, in a few lines: phase, exit, last output, events."""
    meta = pod.get("metadata") or {}
    status = _status(pod)
    text = f"pod {meta.get('namespace')}/{meta.get('name')} did not succeed: phase {phase(pod)}"
    if status.get("reason") or status.get("message"):
        text += f" ({status.get('reason') or ''}: {status.get('message') or ''})"
    end = terminated(pod, container)
    if end is None:
        text += f"; container {container} never terminated"
    else:
        text += f"; container {container} exited {end.get('exitCode')} ({end.get('reason')})"
        message = str(end.get("message") or "").strip()
        if message:
            text += "\nlast output:\n" + message[-MESSAGE_TAIL:]
    return with_events(text, events)
