"""garden_maintenance: patch updates and machine-image rollouts inside each shoot's window."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, TriggerRule, task

from airflow_provider_garden.operators.machines import MachineRolloutOperator
from airflow_provider_garden.operators.shoot import ShootCreateOperator

POOL = "garden_maintenance"  # create with include_deferred, like garden_backup's pool
MAX_SHOOTS = 256


def _with_version(spec: Any, version: str) -> Any:
    import dataclasses

    return dataclasses.replace(spec, kubernetes_version=version.removeprefix("v"))


with DAG(
    dag_id="garden_maintenance",
    doc_md=f"""
### Maintain the fleet inside each shoot's maintenance window

Every hour (UTC) this DAG lists the fleet **when it runs** and acts only on shoots whose
`spec.maintenance.timeWindow` (`HHMMSS+ZZZZ`, may cross midnight) contains the run's
logical time:

* **Kubernetes patch update** of the control plane — when
  `autoUpdate.kubernetesVersion` is set, or the running version is no longer offered by the
  seed's CloudProfile (expired) — by writing the version into the spec and reconciling
  (`ShootCreateOperator` without a spec: kube-apiserver rolls without downtime);
* **machine-image update** per worker pool — under the same two rules for
  `autoUpdate.machineImageVersion` — through `MachineRolloutOperator` (surge, drain, freeze).

What was done, or why it failed, is recorded in each shoot's `status.lastMaintenance`.
Tasks run in the pool `{POOL}`; at most {MAX_SHOOTS} shoots per run.
""",
    schedule="0 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=55),
    tags=["garden", "maintenance"],
) as dag:

    @task
    def plan(logical_date: Any = None, data_interval_end: Any = None) -> list[dict[str, Any]]:
        """Which shoots are in their window now, and what each needs."""
        from airflow_provider_garden.core.maintenance_plan import plan_maintenance
        from airflow_provider_garden.core.shoot_spec import parse_shoot
        from airflow_provider_garden.hooks.garden import GardenHook
        from airflow_provider_garden.hooks.settings import garden_settings
        from airflow_provider_garden.kube import cloudprofile

        at = logical_date or data_interval_end or pendulum.now("UTC")
        settings = garden_settings()
        hook = GardenHook(settings.kubernetes_conn_id)
        profile = cloudprofile.read(hook.kube, settings.namespace)
        plans = []
        for shoot in hook.shoots.list():
            spec = parse_shoot(shoot)
            running = (shoot.get("status") or {}).get("kubernetesVersion")
            if running:  # what runs, not what was asked for, decides expiry
                spec = _with_version(spec, running)
            p = plan_maintenance(
                spec,
                at=at,
                offered_versions=profile.kubernetes_versions,
                offered_images=profile.machine_images,
            )
            if p is None:
                continue
            print(f"{p.project}/{p.name}: in its window; {p.description}")
            plans.append(
                {
                    "project": p.project,
                    "name": p.name,
                    "kubernetes_version": p.kubernetes_version,
                    "pools": [{"pool": u.pool, "image_version": u.version} for u in p.pools],
                    "description": p.description,
                }
            )
        return plans[:MAX_SHOOTS]

    @task
    def update_kubernetes(plans: list[dict[str, Any]]) -> list[dict[str, str]]:
        """Write the target versions into the specs; return the shoots to reconcile."""
        from airflow_provider_garden.core.status import LastMaintenance
        from airflow_provider_garden.hooks.garden import GardenHook

        hook = GardenHook()
        targets = []
        for p in plans:
            if p["kubernetes_version"]:
                hook.shoots.set_kubernetes_version(p["project"], p["name"], p["kubernetes_version"])
                targets.append({"project": p["project"], "name": p["name"]})
            hook.shoots.record_maintenance(
                p["project"],
                p["name"],
                LastMaintenance(description=p["description"], triggered_time=hook.shoots.clock()),
            )
        return targets

    @task
    def rollouts(plans: list[dict[str, Any]]) -> list[dict[str, str]]:
        return [
            {
                "project": p["project"],
                "name": p["name"],
                "worker_pool": u["pool"],
                "image_version": u["image_version"],
            }
            for p in plans
            for u in p["pools"]
        ]

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def record(plans: list[dict[str, Any]]) -> None:
        """status.lastMaintenance: Succeeded, or Failed with the shoot's last error."""
        from dataclasses import replace

        from airflow_provider_garden.core.status import LastMaintenance, OperationState
        from airflow_provider_garden.hooks.garden import GardenHook

        hook = GardenHook()
        for p in plans or []:  # None when planning itself failed
            status = hook.shoots.status(p["project"], p["name"])
            last = status.last_operation
            # The reconcile and every rollout report into lastOperation; the last word wins.
            failed = last is None or not last.succeeded
            hook.shoots.record_maintenance(
                p["project"],
                p["name"],
                replace(
                    status.last_maintenance or LastMaintenance(description=p["description"]),
                    state=OperationState.FAILED if failed else OperationState.SUCCEEDED,
                    failure_reason=(last.description if last else "no operation ran")
                    if failed
                    else None,
                ),
            )

    plans = plan()
    reconcile = ShootCreateOperator.partial(task_id="patch_update", pool=POOL).expand_kwargs(
        update_kubernetes(plans)
    )
    roll = MachineRolloutOperator.partial(task_id="machine_image_rollout", pool=POOL).expand_kwargs(
        rollouts(plans)
    )
    reconcile >> roll >> record(plans)
