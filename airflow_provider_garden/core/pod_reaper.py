"""Which of this provider's pods the orphan reaper deletes: those whose task is over.

An operator deletes its own pod on every way its task ends, but some endings run
no code of the operator at all: a worker killed with SIGKILL or lost with its
node, or a deferred task marked failed in the UI just after its trigger fired.
Their pods outlive the task. The reaper deletes a pod only when its task instance
is finished or no longer exists; never one whose task instance is running,
queued, deferred or waiting for a retry (a retry reattaches to its pod), nor one
without a task identity, nor one kept on request.

Several Airflow installations may share a seed, with the same DAG ids: a pod is
judged only by the installation that launched it (its ``[garden] instance`` label),
so one installation's reaper never deletes another's in-flight pod. Within its own
installation, a pod of a DAG this Airflow does not know (deleted since) is kept
unless ``[garden] reap_unknown_dags`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

FINISHED_STATES = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})


@dataclass(frozen=True, order=True)
class TaskKey:
    """The task instance a pod was launched for."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1


@dataclass(frozen=True)
class ReapCandidate:
    namespace: str
    name: str
    #: None when the pod carries no task identity
    owner: TaskKey | None
    kept: bool = False
    #: the installation that launched the pod (``[garden] instance``); None when unlabelled
    instance: str | None = None


@dataclass(frozen=True)
class ReapDecision:
    pod: ReapCandidate
    delete: bool
    why: str


def plan_reap(
    pods: Sequence[ReapCandidate],
    *,
    instance: str,
    known_dags: Collection[str],
    states: Mapping[TaskKey, str | None],
    reap_unknown_dags: bool = False,
) -> list[ReapDecision]:
    """Decide for each pod; ``states`` holds every task instance that exists (state may be None).

    :param instance: this installation's ``[garden] instance``: only its pods may go.
    """
    if not instance:
        raise ValueError("[garden] instance: must not be empty (whose pods would be judged?)")
    return [
        _decide(
            pod,
            instance=instance,
            known_dags=known_dags,
            states=states,
            reap_unknown_dags=reap_unknown_dags,
        )
        for pod in pods
    ]


def _decide(
    pod: ReapCandidate,
    *,
    instance: str,
    known_dags: Collection[str],
    states: Mapping[TaskKey, str | None],
    reap_unknown_dags: bool,
) -> ReapDecision:
    if pod.instance != instance:
        launched_by = "no installation" if pod.instance is None else f"installation {pod.instance}"
        return ReapDecision(pod, False, f"launched by {launched_by}, not this one ({instance})")
    owner = pod.owner
    if owner is None:
        return ReapDecision(pod, False, "no task identity: not launched by a garden operator")
    if pod.kept:
        return ReapDecision(pod, False, "kept on request after its task ended")
    if owner.dag_id not in known_dags:
        if reap_unknown_dags:
            return ReapDecision(pod, True, f"DAG {owner.dag_id} does not exist here")
        return ReapDecision(pod, False, f"DAG {owner.dag_id} unknown to this Airflow")
    if owner not in states:
        return ReapDecision(pod, True, "its task instance no longer exists")
    state = states[owner]
    if state in FINISHED_STATES:
        return ReapDecision(pod, True, f"its task instance is {state}")
    return ReapDecision(pod, False, f"its task instance is {state or 'waiting to run'}")
