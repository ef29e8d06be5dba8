"""Which pod a task try may reattach to, and which pods must be gone before it goes on.

An operator pod carries the identity of its task instance in its labels (DAG,
task, run, map index), so a retry finds the pods of earlier tries. The rules keep
at most one active pod per task instance:

- reattach only to a pod that is still starting or running, is not being deleted
  and that no earlier try has processed; the newest such pod wins;
- every other pod of the task instance is deleted, and the try waits until all of
  them are gone (a pod being deleted still runs until its container stops);
- a terminal pod kept on the user's request (``on_finish_action``) is left alone:
  it runs nothing and is kept for someone to read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

REUSABLE_PHASES = frozenset({"Pending", "Running"})
TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})


@dataclass(frozen=True)
class PodFacts:
    """What the attach decision needs to know about one pod of the task instance."""

    name: str
    phase: str
    #: RFC 3339 creation timestamp; these sort chronologically as strings
    created: str
    deleting: bool = False
    #: an earlier try already processed this pod (KubernetesPodOperator's already_checked)
    checked: bool = False
    #: kept on the user's request after its task ended
    kept: bool = False


@dataclass(frozen=True)
class AttachPlan:
    reuse: str | None
    #: (pod name, why) of the pods to delete before going on
    remove: tuple[tuple[str, str], ...]
    #: every pod that must be gone before going on: the removed ones and those already deleting
    wait_for: tuple[str, ...]


def plan_attach(pods: Sequence[PodFacts], *, reattach: bool) -> AttachPlan:
    """Decide which pod (if any) to reuse and which pods to delete and wait for."""
    candidates = [
        p
        for p in pods
        if reattach and p.phase in REUSABLE_PHASES and not p.deleting and not p.checked
    ]
    reuse = max(candidates, key=lambda p: (p.created, p.name)) if candidates else None
    remove: list[tuple[str, str]] = []
    wait_for: list[str] = []
    for pod in sorted(pods, key=lambda p: (p.created, p.name)):
        if reuse is not None and pod.name == reuse.name:
            continue
        if pod.deleting:
            wait_for.append(pod.name)
        elif pod.kept and pod.phase in TERMINAL_PHASES:
            continue
        else:
            remove.append((pod.name, _why(pod, reuse, reattach=reattach)))
            wait_for.append(pod.name)
    return AttachPlan(
        reuse=reuse.name if reuse else None, remove=tuple(remove), wait_for=tuple(wait_for)
    )


def _why(pod: PodFacts, reuse: PodFacts | None, *, reattach: bool) -> str:
    if pod.phase in TERMINAL_PHASES:
        return f"{pod.phase}: left over from an earlier try"
    if pod.phase not in REUSABLE_PHASES:
        return f"phase {pod.phase}: cannot be trusted to finish"
    if pod.checked:
        return f"{pod.phase}, but an earlier try already processed it"
    if not reattach:
        return f"{pod.phase}, but this operator does not reattach"
    return f"{pod.phase}: an older duplicate of {reuse.name if reuse else '?'}"
