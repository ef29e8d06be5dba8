"""garden_restore_drill: prove every backed-up shoot's newest good snapshot restores."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, CronTriggerTimetable, Param, TriggerRule, task

from airflow_provider_garden.operators.etcd import EtcdRestoreDrillOperator
from airflow_provider_garden.operators.shoot_pod import SHOOT_MAP_INDEX

# garden_backup's pool: a drill reads the same store and needs about as much scratch
# space and time as a backup, so the two never together exceed the pool's slots.
POOL = "garden_backup"

with DAG(
    dag_id="garden_restore_drill",
    doc_md=f"""
### Prove that every shoot's newest good snapshot restores

Every week (Sunday 03:30 UTC) this DAG lists the fleet **when it runs** and drills every
Shoot that has `spec.backup` and a verified `status.lastBackup` (a shoot being deleted,
or one without a backup yet, is skipped, naming why).

One `EtcdRestoreDrillOperator` is mapped per shoot, least recently drilled first. Its pod
runs beside the shoot's control plane with the snapshot store mounted (never etcd's
volume): it verifies the newest good snapshot of the shoot (sha256 against its manifest,
`etcdutl snapshot status`), restores it into a scratch directory, serves it with a
temporary etcd inside the pod, checks that it serves the manifest's revision and holds a
Kubernetes cluster (namespaces), counts the objects per resource and stops that etcd.
The result is recorded in `status.lastRestoreDrill` (Succeeded or Failed, with every
reason). It does **not** start a kube-apiserver on the restored data: it proves the
snapshot is intact and complete at etcd's level, not that the cluster comes up.

The last task, `report`, logs one line per shoot (passed / failed / skipped, with why)
and returns it as the run's XCom; the run fails naming every failed drill and every
shoot left past Airflow's mapping limit (`[core] max_map_length`).

Concurrency: the drills run in the pool `{POOL}` (garden_backup's).

Params: `only` (drill only these shoots).
""",
    schedule=CronTriggerTimetable("30 3 * * 0", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=6),
    tags=["garden", "backup"],
    params={
        "only": Param(
            [],
            type="array",
            items={"type": "string", "pattern": r"^[a-z0-9-]+/[a-z0-9-]+$"},
            description="Drill only these shoots (<project>/<name>); empty: every shoot.",
        ),
    },
) as dag:

    @task
    def plan(params: dict[str, Any] | None = None, ti: Any = None) -> list[dict[str, str]]:
        """Decide for every shoot; return those to drill (the decisions: XCom `planned`)."""
        from airflow.sdk.configuration import conf

        from airflow_provider_garden.core.drill_plan import plan_drills
        from airflow_provider_garden.core.status import format_time
        from airflow_provider_garden.hooks.garden import GardenHook

        hook = GardenHook()
        planned_at = hook.shoots.clock()
        result = plan_drills(
            hook.shoots.list(),
            only=set((params or {}).get("only") or []),
            limit=conf.getint("core", "max_map_length"),
        )
        for d in result.decisions:
            print(f"{d.shoot}: {d.verdict} - {d.reason}")
        ti.xcom_push(key="planned", value=[d.to_dict() for d in result.decisions])
        ti.xcom_push(key="planned_at", value=format_time(planned_at))
        return result.targets

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def report(planned: list[dict[str, str]], planned_at: str) -> list[dict[str, str]]:
        """One line per shoot, read back from the Shoots; fail naming every failed drill."""
        import datetime as dt

        from airflow_provider_garden.core.drill_plan import DrillDecision, DrillOutcome, outcome_of
        from airflow_provider_garden.core.naming import shoot_key
        from airflow_provider_garden.core.status import ShootStatus
        from airflow_provider_garden.hooks.garden import GardenHook

        since = dt.datetime.fromisoformat(planned_at.replace("Z", "+00:00"))
        after = {
            shoot_key(s): ShootStatus.from_shoot(s).last_restore_drill
            for s in GardenHook().shoots.list()
        }
        lines = []
        for p in planned:
            decision = DrillDecision.from_dict(p)
            outcome, why = outcome_of(decision, after.get(decision.shoot), since=since)
            print(f"{decision.shoot}: {outcome} - {why}")
            lines.append({"shoot": decision.shoot, "outcome": outcome.value, "reason": why})
        failed = [
            f"{x['shoot']}: {x['reason']}" for x in lines if x["outcome"] == DrillOutcome.FAILED
        ]
        if failed:
            raise RuntimeError(f"{len(failed)} restore drill(s) failed: " + "; ".join(failed))
        return lines

    planned = plan()
    drills = EtcdRestoreDrillOperator.partial(
        task_id="drill",
        pool=POOL,
        max_active_tis_per_dag=4,
        map_index_template=SHOOT_MAP_INDEX,  # the UI lists "team-a/dev", not [3]
    ).expand_kwargs(planned)
    drills >> report(planned["planned"], planned["planned_at"])
