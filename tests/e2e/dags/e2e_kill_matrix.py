"""The kill matrix's DAGs: one per (operator, mode, exit path), plus the reaper's and canary's.

Built from the registry in tests/e2e/kill_matrix/operators.py, which is not in this
DAG bundle: its folder is put on sys.path here. Each matrix DAG has one task, `op`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, get_current_context, get_parsing_context, task

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/e2e: the registry

from kill_matrix.operators import (
    HOLD_ENV,
    HOLD_SECONDS,
    NOWHERE,
    OVERLAY,
    PROJECT,
    SHOOT,
    SHOOT_SPEC,
    cases,
)

from airflow_provider_garden.operators.etcd import EtcdBackupOperator
from airflow_provider_garden.operators.kustomize import KustomizeApplyOperator
from airflow_provider_garden.operators.selfcheck import ToolboxCheckOperator
from airflow_provider_garden.operators.shoot import ShootCreateOperator

START = pendulum.datetime(2026, 1, 1, tz="UTC")
# Pods the reaper test makes (and only those) carry this label; its reaper run is scoped to it.
REAPER_LABEL = {"garden.airflow.io/e2e-reaper": "kill-matrix"}

# A task process needs only its own DAG: building all of them in every task would cost
# seconds of CPU per task while the matrix runs dozens of tasks at once.
running = get_parsing_context().dag_id
for case in cases():
    if running is not None and running != case.dag_id:
        continue
    with DAG(
        dag_id=case.dag_id,
        schedule=None,
        start_date=START,
        catchup=False,
        tags=["e2e", "kill-matrix"],
    ):
        case.op.cls(task_id="op", **case.operator_kwargs())

with DAG(dag_id="kmx_reaper_subjects", schedule=None, start_date=START, catchup=False):
    # `orphan` is left without its worker (SIGKILL, no retry): its pod outlives the task.
    # `alive` still runs when the reaper sweeps: its pod must stay.
    for task_id in ("orphan", "alive"):
        ToolboxCheckOperator(
            task_id=task_id, labels=REAPER_LABEL, env_vars={HOLD_ENV: str(HOLD_SECONDS)}
        )

with DAG(dag_id="kmx_reaper", schedule=None, start_date=START, catchup=False):
    # garden_reaper's task, triggered only by the test: unpausing the bundled DAG would also
    # start its hourly run, an unscoped sweep of a seed other Airflows share in CI.

    @task
    def reap_orphan_pods(params: dict[str, Any] | None = None) -> dict[str, Any]:
        from airflow_provider_garden.operators.reaper import reap_task

        return reap_task(params or {}, get_current_context()["ti"])

    reap_orphan_pods()

with DAG(dag_id="kmx_canary", schedule=None, start_date=START, catchup=False):
    # Every operator that mounts or reads a Secret of the shoot, both modes; then two
    # failures with the kubeconfig mounted (a crash, a pod that cannot start), so the
    # exception paths run too.
    reconcile = ShootCreateOperator(
        task_id="reconcile", project=PROJECT, name=SHOOT, spec=SHOOT_SPEC
    )
    backup_sync = EtcdBackupOperator(task_id="backup_sync", project=PROJECT, name=SHOOT)
    # The deferred tasks retry once: Airflow 3.3.2 can fail a resumed try on the stale
    # event of its deferral's exit (apache/airflow#67287, #72716); the test accepts a
    # second try only when the scheduler's event log shows that race.
    backup_deferred = EtcdBackupOperator(
        task_id="backup_deferred", project=PROJECT, name=SHOOT, deferrable=True, retries=1
    )
    apply_common = {
        "source_path": str(OVERLAY),
        "target": f"{PROJECT}/{SHOOT}",
        "default_namespace": "default",
        "wait_timeout": 30,
    }
    apply_sync = KustomizeApplyOperator(
        task_id="apply_sync", inventory_id="kmx-canary-sync", **apply_common
    )
    apply_deferred = KustomizeApplyOperator(
        task_id="apply_deferred",
        inventory_id="kmx-canary-deferred",
        deferrable=True,
        retries=1,
        **apply_common,
    )
    apply_fails = KustomizeApplyOperator(
        task_id="apply_fails",
        inventory_id="kmx-canary-fails",
        env_vars={HOLD_ENV: "crash-before-result"},
        retries=0,
        **apply_common,
    )
    apply_unschedulable = KustomizeApplyOperator(
        task_id="apply_unschedulable",
        inventory_id="kmx-canary-unschedulable",
        node_selector=NOWHERE,
        startup_timeout_seconds=5,
        retries=0,
        **apply_common,
    )
    reconcile >> [backup_sync, backup_deferred, apply_sync, apply_deferred]
    reconcile >> [apply_fails, apply_unschedulable]
