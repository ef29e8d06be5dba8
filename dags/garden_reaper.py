"""garden_reaper: delete operator pods whose task is over (the orphan reaper)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, get_current_context, task

with DAG(
    dag_id="garden_reaper",
    doc_md="""
### Orphan reaper of garden operator pods

Every garden operator deletes its own pod however its task ends. A few endings run
none of the operator's code: a worker killed with SIGKILL or lost with its machine,
or a deferred task finished from the UI in the moment its trigger fired. Their pods
outlive the task; this DAG deletes them every hour.

It lists the pods of **this installation**: labelled
`garden.airflow.io/managed-by=airflow-provider-garden` and
`garden.airflow.io/instance=<[garden] instance>` (several Airflows may share the
seed, with the same DAG ids; another installation's pods are never listed), in the
seed of the `[garden] kubernetes_conn_id` connection, and deletes those whose task
instance (read from the pod's `garden.airflow.io/*` annotations) is **finished**
(success, failed, skipped, upstream_failed, removed) or **no longer exists**. It never
deletes a pod whose task instance is running, queued, deferred, up for retry or
waiting to run (a retry reattaches to its pod), nor a pod kept on request
(`on_finish_action`), nor one of a DAG this Airflow does not know unless
`[garden] reap_unknown_dags` is true. Which pods may go is configuration, not a Param:
triggering the DAG cannot widen it (the Params only narrow the sweep). Each decision
is logged with its reason; the task returns the deleted pods and the instance as XCom.

The task asks Airflow about task instances through the Task SDK (the Execution
API), and it runs in the Airflow worker, not in a pod: there is **no**
`garden-reaper` ServiceAccount. The connection's credentials need `list` and
`delete` on pods in the swept namespaces.
""",
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=30),
    tags=["garden", "maintenance"],
    params={
        "namespace": Param(
            "",
            type="string",
            description="Seed namespace to sweep; empty: every namespace.",
        ),
        "label_selector": Param(
            "",
            type="string",
            description="Extra label selector narrowing the sweep (e.g. one team's pods).",
        ),
        "dry_run": Param(False, type="boolean", description="Log the decisions, delete nothing."),
    },
):

    @task
    def reap_orphan_pods(params: dict[str, Any] | None = None) -> dict[str, Any]:
        from airflow_provider_garden.operators.reaper import reap_task

        return reap_task(params or {}, get_current_context()["ti"])

    reap_orphan_pods()
