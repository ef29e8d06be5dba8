"""The orphan reaper's I/O: list this provider's pods, ask Airflow about their tasks, delete.

The decision is :func:`~airflow_provider_garden.core.pod_reaper.plan_reap`; this
module gathers its input and carries out its output. It runs as task code in an
Airflow worker, so it asks about DAGs and task instances through the Task SDK
(`RuntimeTaskInstance.get_dag` / `get_task_states`, served by the Execution API),
never through the metadata database.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from airflow.sdk.exceptions import AirflowRuntimeError

from airflow_provider_garden.core.pod_reaper import (
    ReapCandidate,
    ReapDecision,
    TaskKey,
    plan_reap,
)
from airflow_provider_garden.hooks.garden import GardenHook
from airflow_provider_garden.hooks.settings import garden_settings
from airflow_provider_garden.kube.client import KubeClient, Manifest, NotFound
from airflow_provider_garden.kube.resources import resource_for
from airflow_provider_garden.operators.pod import (
    DAG_ANNOTATION,
    INSTANCE_LABEL,
    KEPT_LABEL,
    MAP_INDEX_ANNOTATION,
    PROVIDER_LABEL,
    PROVIDER_LABEL_VALUE,
    RUN_ANNOTATION,
    TASK_ANNOTATION,
)

log = logging.getLogger(__name__)


class TaskInstanceLookup(Protocol):
    """What task code may ask Airflow (the Task SDK's RuntimeTaskInstance offers both)."""

    def get_dag(self, dag_id: str) -> Any: ...

    def get_task_states(
        self,
        dag_id: str,
        map_index: int | None = None,
        task_ids: list[str] | None = None,
        task_group_id: str | None = None,
        logical_dates: list[Any] | None = None,
        run_ids: list[str] | None = None,
    ) -> dict[str, Any]: ...


def candidate(pod: Manifest) -> ReapCandidate:
    """A pod as the reaper sees it: its task identity comes from the exact annotations."""
    meta = pod["metadata"]
    notes = meta.get("annotations") or {}
    owner = None
    if all(notes.get(k) for k in (DAG_ANNOTATION, RUN_ANNOTATION, TASK_ANNOTATION)):
        owner = TaskKey(
            dag_id=notes[DAG_ANNOTATION],
            run_id=notes[RUN_ANNOTATION],
            task_id=notes[TASK_ANNOTATION],
            map_index=int(notes.get(MAP_INDEX_ANNOTATION) or -1),
        )
    labels = meta.get("labels") or {}
    return ReapCandidate(
        namespace=meta["namespace"],
        name=meta["name"],
        owner=owner,
        kept=labels.get(KEPT_LABEL) == "true",
        instance=labels.get(INSTANCE_LABEL),
    )


def known_dags(airflow: TaskInstanceLookup, dag_ids: Iterable[str]) -> set[str]:
    known = set()
    for dag_id in sorted(set(dag_ids)):
        try:
            airflow.get_dag(dag_id)
        except AirflowRuntimeError as err:
            if (err.error.detail or {}).get("status_code") != 404:
                raise
            continue
        known.add(dag_id)
    return known


def task_states(
    airflow: TaskInstanceLookup, owners: Iterable[TaskKey]
) -> dict[TaskKey, str | None]:
    """The state of every owner's task instance that exists; absent owners are left out."""
    states: dict[TaskKey, str | None] = {}
    for owner in sorted(set(owners)):
        # One exact question per task instance: the answer's keys ("task_3" for map
        # index 3) could not tell a mapped task from a task named like one.
        found = airflow.get_task_states(
            dag_id=owner.dag_id,
            task_ids=[owner.task_id],
            run_ids=[owner.run_id],
            map_index=owner.map_index,
        )
        key = owner.task_id if owner.map_index < 0 else f"{owner.task_id}_{owner.map_index}"
        run: Mapping[str, Any] = found.get(owner.run_id) or {}
        if key in run:
            states[owner] = None if run[key] is None else str(run[key])
    return states


def reap_orphan_pods(
    *,
    kube: KubeClient,
    airflow: TaskInstanceLookup,
    instance: str,
    namespace: str | None = None,
    label_selector: str = "",
    dry_run: bool = False,
    reap_unknown_dags: bool = False,
) -> list[ReapDecision]:
    """Delete this installation's pods whose task instance is over; return every decision.

    :param instance: this installation's ``[garden] instance``; pods of another are not
        even listed (and would be kept if they were).
    """
    if not instance:
        raise ValueError("[garden] instance: must not be empty (whose pods would be judged?)")
    own = [f"{PROVIDER_LABEL}={PROVIDER_LABEL_VALUE}", f"{INSTANCE_LABEL}={instance}"]
    selector = ",".join(filter(None, [*own, label_selector]))
    pods = [candidate(p) for p in kube.list("v1", "Pod", namespace, label_selector=selector)]
    owners = [p.owner for p in pods if p.owner is not None]
    known = known_dags(airflow, (o.dag_id for o in owners))
    decisions = plan_reap(
        pods,
        instance=instance,
        known_dags=known,
        states=task_states(airflow, (o for o in owners if o.dag_id in known)),
        reap_unknown_dags=reap_unknown_dags,
    )
    for decision in decisions:
        pod = decision.pod
        verb = "delete" if decision.delete else "keep"
        log.info("%s %s/%s: %s", verb, pod.namespace, pod.name, decision.why)
        if decision.delete and not dry_run:
            try:
                kube.raw("DELETE", resource_for("v1", "Pod").path(pod.namespace, pod.name))
            except NotFound:
                log.info("%s/%s was already gone", pod.namespace, pod.name)
    return decisions


def reap_task(params: Mapping[str, Any], airflow: TaskInstanceLookup) -> dict[str, Any]:
    """The reaper task's body (``garden_reaper``): its Params in, a summary (XCom) out.

    Whose pods and whether unknown DAGs' pods go are ``[garden]`` settings, not Params:
    whoever may trigger the DAG must not widen what it deletes.
    """
    settings = garden_settings()
    dry_run = bool(params.get("dry_run"))
    decisions = reap_orphan_pods(
        kube=GardenHook(settings.kubernetes_conn_id).kube,
        airflow=airflow,
        instance=settings.instance,
        namespace=params.get("namespace") or None,
        label_selector=params.get("label_selector") or "",
        dry_run=dry_run,
        reap_unknown_dags=settings.reap_unknown_dags,
    )
    return {"instance": settings.instance, **summary(decisions, dry_run=dry_run)}


def summary(decisions: Sequence[ReapDecision], *, dry_run: bool) -> dict[str, Any]:
    """What the reaper task returns as XCom: names and reasons only."""
    return {
        "dry_run": dry_run,
        "deleted": [
            {"pod": f"{d.pod.namespace}/{d.pod.name}", "why": d.why} for d in decisions if d.delete
        ],
        "kept": len([d for d in decisions if not d.delete]),
    }
