"""garden_restore: restore one shoot's etcd from a verified snapshot."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_provider_garden.core.name_rules import PROJECT_RULES
from airflow_provider_garden.operators.confirm import require_typed_confirmation
from airflow_provider_garden.operators.etcd import EtcdRestoreOperator
from airflow_provider_garden.sensors.shoot import ShootReadySensor

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"

with DAG(
    dag_id="garden_restore",
    doc_md="""
### Restore a shoot's etcd

Puts the shoot's cluster state back to a snapshot: everything written after it is lost.
Leave **snapshot** empty for the newest good one *of this shoot* (`garden backups ls
<project>/<name>` lists them). Snapshots carry the UID of the shoot that wrote them: a
shoot deleted and created again under the same name is another shoot, and its
snapshots are never restored by default. To restore one anyway, set **from_uid** to
its UID (`garden backups ls --deleted` shows it; `unmarked` for snapshots written
before UIDs were recorded); a snapshot of another UID without it is refused, naming
the UID. The snapshot is verified again before anything is stopped; the shoot's
kube-apiserver and etcd are then stopped, the snapshot restored into a new data
directory and swapped in; the old directory is kept aside until etcd is proven to
serve the snapshot, and put back if it does not. Each phase is journaled (ConfigMap
`etcd-restore-journal` in the control-plane namespace): a restore that was killed is
finished or rolled back by the next run of this DAG, and reconcile refuses to start
the control plane while the journal is open. The shoot's operation Lease keeps
reconciles and rollouts away meanwhile.

To confirm, type `<project>/<name>` into **confirm**.
""",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=30),
    tags=["garden", "backup"],
    params={
        "project": Param(
            "demo", type="string", description=f"Project of the shoot: {PROJECT_RULES}."
        ),
        "name": Param("hello", type="string", pattern=DNS_LABEL, description="Shoot to restore."),
        "snapshot": Param(
            "",
            type="string",
            description="Snapshot key (Backup-<ts>/Full-...); empty: newest good.",
        ),
        "from_uid": Param(
            "",
            type="string",
            pattern=r"^$|^unmarked$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
            description="Restore a snapshot of another shoot UID (a deleted shoot of the same "
            "name; 'unmarked': written before UIDs were recorded); empty: this shoot's only.",
        ),
        "confirm": Param("", type="string", description="Type <project>/<name> to confirm."),
    },
) as dag:

    @task
    def confirm_restore(params: dict[str, str] | None = None) -> None:
        require_typed_confirmation(params or {}, "restore")

    restore = EtcdRestoreOperator(
        task_id="restore",
        project="{{ params.project }}",
        name="{{ params.name }}",
        snapshot="{{ params.snapshot or '' }}",
        from_uid="{{ params.from_uid or '' }}",
    )
    ready = ShootReadySensor(
        task_id="wait_until_ready",
        project="{{ params.project }}",
        name="{{ params.name }}",
        timeout=600,
    )
    confirm_restore() >> restore >> ready
