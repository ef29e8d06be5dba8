"""garden_teardown: delete one shoot, after the person typed its name to confirm."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_provider_garden.core.name_rules import PROJECT_RULES
from airflow_provider_garden.operators.confirm import require_typed_confirmation
from airflow_provider_garden.operators.shoot import ShootDeleteOperator

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"

with DAG(
    dag_id="garden_teardown",
    doc_md="""
### Delete a shoot

Deletes the shoot's control plane (etcd and its volume, API server, controllers), its
Secrets and the `Shoot` resource. Its etcd snapshots are **kept** for the shoot's
`spec.backup.retentionAfterDeletion` (default 168h), marked with its UID, in its project
namespace (`garden backups ls --deleted <project>/<name>` lists them; for an `s3` store,
`garden_restore` with `from_uid` restores one into a new shoot of the name);
`garden_backup` drops them after that. Anything written since the newest backup is gone (take a backup first with
`garden_backup` if you may need it).

To confirm, type `<project>/<name>` into **confirm**. The first task then annotates the
Shoot with `confirmation.garden.airflow.io/deletion=true`, which `ShootDeleteOperator`
requires; without a matching confirmation nothing is touched.
""",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=20),
    tags=["garden", "shoot"],
    params={
        "project": Param(
            "demo", type="string", description=f"Project of the shoot: {PROJECT_RULES}."
        ),
        "name": Param("hello", type="string", pattern=DNS_LABEL, description="Shoot to delete."),
        "confirm": Param(
            "",
            type="string",
            description="Type <project>/<name> of the shoot to confirm its deletion.",
        ),
    },
) as dag:

    @task
    def confirm_deletion(params: dict[str, str] | None = None, dag_run: Any = None) -> None:
        from airflow_provider_garden.hooks.garden import GardenHook
        from airflow_provider_garden.operators.confirm import require_project_admin
        from airflow_provider_garden.operators.shoot import confirm_deletion as annotate

        project, name = require_typed_confirmation(params or {}, "delete")
        hook = GardenHook()
        # The annotation is a write: only an admin of the project may make it.
        require_project_admin(hook, project, dag_run, "garden_teardown's confirm_deletion")
        annotate(hook, project, name)

    confirm_deletion() >> ShootDeleteOperator(
        task_id="delete_shoot", project="{{ params.project }}", name="{{ params.name }}"
    )
