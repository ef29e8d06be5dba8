"""garden_backup: a verified etcd snapshot of every shoot with backups enabled."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_provider_garden.operators.etcd import EtcdBackupOperator

# Created by `make demo` / the test harness; create it in your Airflow with
#   airflow pools set garden_backup 2 "etcd backups" --include-deferred
POOL = "garden_backup"
# A DAG run maps one task per shoot: stay well under [core] max_map_length (1024).
MAX_SHOOTS = 512

with DAG(
    dag_id="garden_backup",
    doc_md=f"""
### Back up every shoot's etcd

Every hour (UTC, at minute 15) this DAG lists the fleet **when it runs** (nothing talks to
the cluster while the file is parsed) and maps one `EtcdBackupOperator` over every shoot
whose `spec.backup` is set and whose last operation succeeded. Each task:

1. takes a full snapshot of the shoot's etcd in a pod next to it;
2. verifies it (`etcdutl snapshot status`, then the stored object re-read and its sha256
   compared) — only then is it listed as good and recorded in `status.lastBackup`;
3. applies the shoot's retention policy (Exponential or LimitBased), never deleting the
   newest good snapshot.

Concurrency: the tasks run in the pool `{POOL}` (create it with `include_deferred`), so N
shoots never run more backup pods than the pool has slots. At most {MAX_SHOOTS} shoots per run.
""",
    schedule="15 * * * *",
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
        )
    },
) as dag:

    @task
    def shoots_with_backup(params: dict[str, list[str]] | None = None) -> list[dict[str, str]]:
        from airflow_provider_garden.core.status import ShootStatus
        from airflow_provider_garden.hooks.garden import GardenHook

        only = set((params or {}).get("only") or [])
        targets = []
        for shoot in GardenHook().shoots.list():
            last = ShootStatus.from_shoot(shoot).last_operation
            project = shoot["metadata"]["namespace"].removeprefix("garden-")
            if only and f"{project}/{shoot['metadata']['name']}" not in only:
                continue
            if shoot["spec"].get("backup") and last is not None and last.succeeded:
                targets.append({"project": project, "name": shoot["metadata"]["name"]})
        if len(targets) > MAX_SHOOTS:
            print(f"{len(targets)} shoots have backups: this run takes the first {MAX_SHOOTS}")
        return sorted(targets, key=lambda t: (t["project"], t["name"]))[:MAX_SHOOTS]

    EtcdBackupOperator.partial(
        task_id="backup", pool=POOL, max_active_tis_per_dag=8, retries=1
    ).expand_kwargs(shoots_with_backup())
