"""garden_backup: a verified etcd snapshot of every shoot whose backup schedule is due."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, CronTriggerTimetable, Param, TriggerRule, task

from airflow_provider_garden.operators.etcd import BACKUP_ERROR_KEY, EtcdBackupOperator
from airflow_provider_garden.operators.shoot_pod import SHOOT_MAP_INDEX

# Created by `make demo` / the test harness; create it in your Airflow with
#   airflow pools set garden_backup 2 "etcd backups" --include-deferred
POOL = "garden_backup"
# Each run covers the hour before it: a shoot's schedule is judged over that interval.
PERIOD = timedelta(hours=1)

with DAG(
    dag_id="garden_backup",
    doc_md=f"""
### Back up every shoot whose schedule is due

Every hour (UTC, at minute 15) this DAG lists the fleet **when it runs** (nothing talks to
the cluster while the file is parsed) and decides for every Shoot:

* **due** — it has `spec.backup` and its `schedule` (cron, UTC; default hourly) ticked in
  the run's interval `(data_interval_start, data_interval_end]` (the hour before the run),
  or an earlier tick passed without a verified backup since (a missed run or a failed
  backup is made up by the next run). The shoot's state does not matter: a failed
  reconcile, a frozen rollout or a failed restore is when a backup matters most;
* **skipped** — no `spec.backup`, or the shoot is being created or deleted (the reason is
  named);
* **not due** — its schedule does not tick in the interval.

One `EtcdBackupOperator` is mapped per due shoot, never backed up longest first. Each task
takes a full snapshot in a pod next to the shoot's etcd, verifies it (`etcdutl snapshot
status`, then the stored object re-read and its sha256 compared) — only then is it listed
as good and recorded in `status.lastBackup` — and applies the shoot's retention policy.

The last task, `report`, logs one line per shoot (backed up / not due / skipped / failed,
with why) and returns the same as the run's XCom. The run fails when a due shoot was not
backed up, naming it; nothing is dropped silently. Airflow maps at most `[core]
max_map_length` tasks: a fleet past that backs up that many (oldest backup first), names
the rest and fails.

Concurrency: the tasks run in the pool `{POOL}` (create it with `include_deferred`), so N
shoots never run more backup pods than the pool has slots.

**Deleted shoots' snapshots.** A teardown keeps a shoot's snapshots for its
`spec.backup.retentionAfterDeletion` (default 168h), recorded in its project namespace
(`garden backups ls --deleted <project>/<name>` lists them). The task `expire_deleted`
drops every record whose period has passed at this run's **logical time** (a local
store's kept volume is released, an S3 store's keys of that shoot UID deleted; never a
key of another UID), of the shoots `only` names (every record when it names none), and
logs one line per record (XCom `return_value` of that task). A record whose teardown is
still moving its volume is left for a later run. To drop one before its time, set `drop_uid` to the
deleted shoot's UID and type `<project>/<name>@<uid>` into `drop_confirm`; a wrong
confirmation fails the task before anything is deleted.

Params: `only` (back up only these shoots), `force` (back them up even when their schedule
is not due), `drop_uid` and `drop_confirm` (see above).
""",
    schedule=CronTriggerTimetable("15 * * * *", timezone="UTC", interval=PERIOD),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=55),
    tags=["garden", "backup"],
    params={
        "only": Param(
            [],
            type="array",
            items={"type": "string", "pattern": r"^[a-z0-9-]+/[a-z0-9-]+$"},
            description="Back up only these shoots (<project>/<name>); empty: every shoot.",
        ),
        "force": Param(
            False,
            type="boolean",
            description="Back up the chosen shoots even when their schedule is not due "
            "(a shoot being created or deleted is still skipped).",
        ),
        "drop_uid": Param(
            "",
            type="string",
            description="UID of a deleted shoot whose kept snapshots go now, before their "
            "retentionAfterDeletion ends (needs drop_confirm).",
        ),
        "drop_confirm": Param(
            "",
            type="string",
            description="Type <project>/<name>@<uid> of that deleted shoot to confirm.",
        ),
    },
) as dag:

    @task
    def plan(
        params: dict[str, Any] | None = None,
        data_interval_start: Any = None,
        data_interval_end: Any = None,
        dag_run: Any = None,
        ti: Any = None,
    ) -> list[dict[str, str]]:
        """Decide for every shoot; return the due ones to map (the decisions: XCom `planned`)."""
        from airflow.sdk.configuration import conf

        from airflow_provider_garden.core.backup_plan import plan_backups
        from airflow_provider_garden.core.backup_schedule import run_interval
        from airflow_provider_garden.hooks.garden import GardenHook

        p = params or {}
        start, end = run_interval(
            data_interval_start, data_interval_end, run_after=dag_run.run_after, period=PERIOD
        )
        result = plan_backups(
            GardenHook().shoots.list(),
            start=start,
            end=end,
            only=set(p.get("only") or []),
            force=bool(p.get("force")),
            limit=conf.getint("core", "max_map_length"),
        )
        print(f"interval ({start.isoformat()}, {end.isoformat()}]")
        for s in result.shoots:
            print(f"{s.shoot}: {s.verdict} - {s.reason}")
        if result.left_over:
            print(f"past the mapping limit {result.limit}, not backed up: {result.left_over}")
        ti.xcom_push(key="planned", value=[s.to_dict() for s in result.shoots])
        ti.xcom_push(key="limit", value=result.limit)
        return result.targets

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def report(planned: list[dict[str, Any]], limit: int, ti: Any = None) -> dict[str, Any]:
        """One line per shoot, read back from the Shoots; fail naming what was not backed up."""
        from airflow_provider_garden.core.backup_plan import PlannedShoot, shoot_key
        from airflow_provider_garden.core.backup_report import Outcome, outcome_of, summary, table
        from airflow_provider_garden.core.status import ShootStatus
        from airflow_provider_garden.hooks.garden import GardenHook

        after = {
            shoot_key(s): ShootStatus.from_shoot(s).last_backup for s in GardenHook().shoots.list()
        }
        pulled = ti.xcom_pull(task_ids="backup", key=BACKUP_ERROR_KEY) or []
        found = [pulled] if isinstance(pulled, dict) else pulled
        errors = {e["shoot"]: e["error"] for e in found if e}
        outcomes = [
            outcome_of(
                PlannedShoot.from_dict(p),
                after.get(p["shoot"]),
                limit=limit,
                error=errors.get(p["shoot"]),
            )
            for p in planned
        ]
        print(table(outcomes))
        result = summary(outcomes)
        failed = [o for o in outcomes if o.outcome is Outcome.FAILED]
        if failed:
            ti.xcom_push(key="return_value", value=result)  # the summary also of a failed run
            raise RuntimeError(
                f"{len(failed)} shoot(s) not backed up: "
                + "; ".join(f"{o.shoot}: {o.reason}" for o in failed)
            )
        return result

    @task
    def expire_deleted(
        params: dict[str, Any] | None = None, logical_date: Any = None, dag_run: Any = None
    ) -> list[dict[str, str]]:
        """Drop deleted shoots' snapshots whose period passed at the run's logical time."""
        from airflow_provider_garden.hooks.garden import GardenHook
        from airflow_provider_garden.kube.kept_backups import expire

        p = params or {}
        now = logical_date or dag_run.run_after
        report = expire(
            GardenHook().kube,
            now=now,
            drop_uid=p.get("drop_uid") or None,
            confirm=p.get("drop_confirm") or None,
            only=set(p.get("only") or []),
        )
        print(f"deleted shoots' snapshots at {now.isoformat()}:")
        for line in report:
            print(f"{line['shoot']}@{line['uid']}: {line['outcome']} - {line['reason']}")
        failed = [f"{x['shoot']}@{x['uid']}" for x in report if x["outcome"] == "failed"]
        if failed:
            raise RuntimeError(f"could not drop the snapshots of {', '.join(failed)}")
        return report

    expire_deleted()
    planned = plan()
    backups = EtcdBackupOperator.partial(
        task_id="backup",
        pool=POOL,
        max_active_tis_per_dag=8,
        retries=1,
        map_index_template=SHOOT_MAP_INDEX,  # the UI lists "team-a/dev", not [3]
    ).expand_kwargs(planned)
    backups >> report(planned["planned"], planned["limit"])
