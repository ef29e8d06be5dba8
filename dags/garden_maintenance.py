"""garden_maintenance: patch updates and machine-image rollouts inside each shoot's window."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, TriggerRule, task, task_group

from airflow_provider_garden.operators.machines import MachineRolloutOperator
from airflow_provider_garden.operators.shoot import ShootCreateOperator
from airflow_provider_garden.operators.shoot_pod import SHOOT_MAP_INDEX

POOL = "garden_maintenance"  # create with include_deferred, like garden_backup's pool

with DAG(
    dag_id="garden_maintenance",
    doc_md=f"""
### Maintain the fleet inside each shoot's maintenance window

Every hour (UTC) this DAG lists the fleet **when it runs** and acts only on shoots whose
`spec.maintenance.timeWindow` (`HHMMSS+ZZZZ`, may cross midnight) contains the run's
logical time:

* **Kubernetes patch update** of the control plane — when
  `autoUpdate.kubernetesVersion` is set, or the running version is no longer offered by the
  seed's CloudProfile (expired) — by a reconcile whose pod, holding the shoot's operation
  Lease, writes the version into the spec and rolls to it (`ShootCreateOperator` with
  `kubernetes_version`: kube-apiserver rolls without downtime). The write is a
  compare-and-swap: a spec whose version changed since the plan is refused, naming
  `spec.kubernetes.version`, not overwritten;
* **machine-image update** per worker pool — under the same two rules for
  `autoUpdate.machineImageVersion` — through `MachineRolloutOperator` (surge, drain, freeze).

Each shoot is one mapped task group (`shoot`): a broken shoot (a window the rules refuse, a
machine image or version withdrawn with no successor, a spec that does not parse) fails its
own `shoot.prepare` naming the field and is not changed; a shoot whose patch update fails
holds back only its own rollouts. A shoot with a broken window is reported in every run.

`record` reads every planned shoot back and writes `status.lastMaintenance`: Succeeded only
when everything planned is so (the running Kubernetes version, each pool's machines on the
target image), otherwise Failed naming what is not. The run then fails naming those shoots.
No fleet size is cut off: past Airflow's `[core] max_map_length` the shoots (or rollouts)
left over are recorded Failed, named, and the run fails.

Tasks run in the pool `{POOL}`. Param `only`: maintain only these shoots (still only inside
their windows).
""",
    schedule="0 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=55),
    tags=["garden", "maintenance"],
    params={
        "only": Param(
            [],
            type="array",
            items={"type": "string", "pattern": r"^[a-z0-9-]+/[a-z0-9-]+$"},
            description="Maintain only these shoots (<project>/<name>); empty: every shoot.",
        )
    },
) as dag:

    @task
    def plan(
        params: dict[str, Any] | None = None,
        logical_date: Any = None,
        dag_run: Any = None,
        ti: Any = None,
    ) -> list[dict[str, Any]]:
        """One entry per shoot in its window (or broken); the rest of the fleet is left alone."""
        from airflow.sdk.configuration import conf

        from airflow_provider_garden.core.maintenance_fleet import plan_shoot
        from airflow_provider_garden.core.naming import shoot_key
        from airflow_provider_garden.hooks.garden import GardenHook
        from airflow_provider_garden.kube import cloudprofile

        at = logical_date or dag_run.run_after
        only = set((params or {}).get("only") or [])
        hook = GardenHook()  # [garden] kubernetes_conn_id; its seed's namespace
        profile = cloudprofile.read(hook.kube, hook.settings.namespace)
        fleet = hook.shoots.list()
        entries = []
        for shoot in fleet:
            if only and shoot_key(shoot) not in only:
                continue
            # never a preview version by itself; off an expired one in the window
            entry = plan_shoot(shoot, at=at, offering=profile.offering(at))
            if entry is not None:
                print(f"{entry.shoot}: {entry.description}")
                entries.append(entry.to_dict())
        for missing in sorted(only - {shoot_key(s) for s in fleet}):
            print(f"{missing}: no such Shoot")
        limit = conf.getint("core", "max_map_length")
        ti.xcom_push(key="left_over", value=entries[limit:])
        if entries[limit:]:
            print(f"past the mapping limit {limit}: {[e['name'] for e in entries[limit:]]}")
        return entries[:limit]

    @task_group
    def shoot(entry: dict[str, Any]) -> None:
        """One shoot's maintenance; its failure stays its own."""

        @task(multiple_outputs=True)
        def prepare(entry: dict[str, Any]) -> dict[str, str | None]:
            """Record the start; skip the reconcile when there is no Kubernetes update."""
            from airflow.sdk.exceptions import AirflowSkipException

            from airflow_provider_garden.core.maintenance_fleet import ShootMaintenance
            from airflow_provider_garden.core.status import LastMaintenance, OperationState
            from airflow_provider_garden.hooks.garden import GardenHook

            m = ShootMaintenance.from_dict(entry)
            shoots = GardenHook().shoots
            record = LastMaintenance(description=m.description, triggered_time=shoots.clock())
            if m.problem:
                shoots.record_maintenance(
                    m.project,
                    m.name,
                    LastMaintenance(
                        description=m.description,
                        state=OperationState.FAILED,
                        triggered_time=record.triggered_time,
                        failure_reason=m.problem,
                    ),
                )
                raise ValueError(f"Shoot {m.shoot} is not maintained: {m.problem}")
            shoots.record_maintenance(m.project, m.name, record)
            if not m.kubernetes_version:
                raise AirflowSkipException(f"{m.shoot}: no Kubernetes update ({m.description})")
            # The reconcile's pod writes the version, holding the shoot's Lease.
            return {
                "project": m.project,
                "name": m.name,
                "kubernetes_version": m.kubernetes_version,
                "planned_from": m.planned_from,
            }

        target = prepare(entry)
        ShootCreateOperator(
            task_id="patch_update",
            pool=POOL,
            project=target["project"],
            name=target["name"],
            kubernetes_version=target["kubernetes_version"],
            planned_from=target["planned_from"],
        )

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def rollouts(entries: list[dict[str, Any]], ti: Any = None) -> list[dict[str, str]]:
        """Every pool to roll, of shoots whose own Kubernetes update (if any) is running."""
        from airflow.sdk.configuration import conf

        from airflow_provider_garden.core.maintenance_fleet import (
            ShootMaintenance,
            rollout_targets,
        )
        from airflow_provider_garden.core.naming import shoot_key
        from airflow_provider_garden.hooks.garden import GardenHook

        shoots = {shoot_key(s): s for s in GardenHook().shoots.list()}
        targets, held = rollout_targets([ShootMaintenance.from_dict(e) for e in entries], shoots)
        for name, why in held.items():
            print(f"{name}: its pools are not rolled: {why}")
        limit = conf.getint("core", "max_map_length")
        ti.xcom_push(key="left_over", value=targets[limit:])
        return targets[:limit]

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def record(entries: list[dict[str, Any]], ti: Any = None) -> None:
        """status.lastMaintenance from what is so now; fail the run naming the failures."""
        from airflow_provider_garden.core.maintenance_fleet import (
            ShootMaintenance,
            judge,
            started,
        )
        from airflow_provider_garden.core.naming import shoot_key
        from airflow_provider_garden.core.status import LastMaintenance, OperationState
        from airflow_provider_garden.hooks.garden import GardenHook

        hook = GardenHook()
        shoots = {shoot_key(s): s for s in hook.shoots.list()}
        left_over = ti.xcom_pull(task_ids="plan", key="left_over") or []
        rollouts_left = ti.xcom_pull(task_ids="rollouts", key="left_over") or []
        unmapped = {e["project"] + "/" + e["name"] for e in [*left_over, *rollouts_left]}
        failed = []
        for data in [*entries, *left_over]:
            m = ShootMaintenance.from_dict(data)
            state, why = judge(m, shoots.get(m.shoot))
            if m.shoot in unmapped:
                state, why = (
                    OperationState.FAILED,
                    f"not mapped (past [core] max_map_length); {why}",
                )
            print(f"{m.shoot}: {state}: {why}")
            if state is not OperationState.SUCCEEDED:
                failed.append(f"{m.shoot}: {why}")
            if m.shoot in shoots:
                hook.shoots.record_maintenance(
                    m.project,
                    m.name,
                    LastMaintenance(
                        description=m.description,
                        state=state,
                        triggered_time=started(shoots[m.shoot]),
                        failure_reason=None if state is OperationState.SUCCEEDED else why,
                    ),
                )
        if failed:
            raise RuntimeError(f"{len(failed)} shoot(s) not maintained: " + " | ".join(failed))

    entries = plan()
    groups = shoot.expand(entry=entries)
    pools = rollouts(entries)
    groups >> pools
    roll = MachineRolloutOperator.partial(
        task_id="machine_image_rollout",
        pool=POOL,
        map_index_template=SHOOT_MAP_INDEX + "/{{ task.worker_pool }}",  # "team-a/dev/pool-a"
    ).expand_kwargs(pools)
    roll >> record(entries)
