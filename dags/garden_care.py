"""garden_care: observe every shoot every five minutes and write what is true."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_garden.core import care
from airflow_provider_garden.core.name_rules import PROJECT_RULES
from airflow_provider_garden.operators.care import ShootCareOperator

DEFAULTS = {t.value: int(d.total_seconds()) for t, d in care.DEFAULT_THRESHOLDS.items()}

with DAG(
    dag_id="garden_care",
    doc_md=f"""
### Shoot care

Every five minutes **one pod** (`garden-agent care`, ServiceAccount `garden-care`)
observes the whole fleet, several shoots at a time, and writes into each Shoot:

- **conditions** — `APIServerAvailable` (the shoot's `/readyz` through its admin
  kubeconfig), `ControlPlaneHealthy` (etcd StatefulSet and kube-apiserver,
  kube-controller-manager, kube-scheduler Deployments ready, none crash-looping, read
  from the seed), `EveryNodeReady` (each pool has its minimum of Ready nodes on its
  image), `SystemComponentsHealthy` (the shoot's kube-system workloads ready). A
  condition found unhealthy is `Progressing` first and `False` once it stayed so for
  its threshold (**thresholds**, seconds); what could not be observed is `Unknown`.
  Messages name the unhealthy object; transition times move only when a status does.
- **constraints** — `HibernationPossible` (no webhook with `failurePolicy: Fail`),
  `MaintenancePreconditionsSatisfied` (control plane healthy, no such webhook on pods
  or nodes), `CACertificateValiditiesAcceptable` (the shoot's CA valid for a year more).
- the label **`{care.STATUS_LABEL}`** = `healthy`, `progressing`, `unhealthy` or
  `unknown`: `kubectl get shoots -A -l {care.STATUS_LABEL}=unhealthy`.

A shoot with a node seen not Ready or a pool seen short of its minimum is handed to
machine health, which replaces machines NotReady past their pool's `machineHealthTimeout`
(one at a time, never below the minimum) and refills a pool whose machines vanished
(creating only; `status.workers.<pool>.refilled` and `EveryNodeReady` name the new ones).

The task fails only when a shoot could not be judged at all (its line says why);
unhealthy shoots are its result (XCom), not a failure.
""",
    schedule=timedelta(minutes=5),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=5),
    tags=["garden", "care"],
    render_template_as_native_obj=True,
    params={
        "project": Param(
            "",
            type="string",
            description=f"Only this project's shoots ({PROJECT_RULES}); empty: every project.",
        ),
        "thresholds": Param(
            DEFAULTS,
            type="object",
            properties={t: {"type": "number", "minimum": 0} for t in DEFAULTS},
            additionalProperties=False,
            description="Seconds a condition may stay Progressing before it is False "
            "(0: straight to False).",
        ),
        "parallelism": Param(
            8, type="integer", minimum=1, maximum=64, description="Shoots observed at once."
        ),
    },
):
    ShootCareOperator(
        task_id="care",
        project="{{ params.project }}",
        thresholds="{{ params.thresholds }}",
        parallelism="{{ params.parallelism }}",
    )
