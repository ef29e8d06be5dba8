"""garden_provision: create (or reconcile) one shoot from a form in the Airflow UI."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_provider_garden.core import shoot_schema
from airflow_provider_garden.core.name_rules import PROJECT_RULES
from airflow_provider_garden.localseed.profile import local_profile
from airflow_provider_garden.operators.etcd import EtcdBackupOperator
from airflow_provider_garden.operators.shoot import ShootCreateOperator
from airflow_provider_garden.sensors.shoot import ShootReadySensor

_OFFERED = local_profile().kubernetes
_NOW = dt.datetime.now(dt.UTC)
# Offered in the form: supported and deprecated versions (never preview or expired).
VERSIONS = list(_OFFERED.automatic(_NOW))
_DEPRECATED = _OFFERED.deprecated(_NOW)
# Form field -> where its value goes in the Shoot's spec (and whose schema it has).
SPEC_PARAMS = {
    "kubernetes_version": "spec.kubernetes.version",
    "networking": "spec.networking",
    "workers": "spec.workers",
    "backup": "spec.backup",
    "maintenance_window": "spec.maintenance.timeWindow",
}


def spec_param(form_field: str, default: Any, *, description: str = "", **extra: Any) -> Param:
    """A form field typed, bounded and described by the Shoot schema (the CRD's source)."""
    schema = shoot_schema.json_schema(shoot_schema.at(SPEC_PARAMS[form_field]))
    schema.pop("default", None)
    text = " ".join(t for t in (schema.pop("description", ""), description) if t)
    return Param(default, description=text, **schema, **extra)


with DAG(
    dag_id="garden_provision",
    doc_md="""
### Provision a shoot

Fill in the form (**Trigger DAG w/ config**) and run. The DAG

1. validates the spec (names, version, networks, maintenance window, worker pools) and
   fails in milliseconds naming the field if something is wrong — nothing is created then;
2. applies the `Shoot` resource in `garden-<project>` and runs `garden-agent shoot reconcile`
   in a pod on the seed: certificates, etcd on a volume, kube-apiserver, controller-manager,
   scheduler (`ShootCreateOperator`);
3. waits, without holding a worker slot, until the shoot's last operation succeeded and its
   conditions are healthy (`ShootReadySensor`, deferrable);
4. takes the first verified etcd backup (`EtcdBackupOperator`);
5. prints how to reach the shoot.

Running it again for an existing shoot is a reconcile, never a duplicate.
The shoot's admin kubeconfig is the provider's own (Secret `garden-<project>/<name>.kubeconfig`;
never in XCom or logs). Members get a short-lived one of their own role with
`garden kubeconfig <project>/<name> --user <you> --expiration 1h`.
""",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=dt.timedelta(minutes=30),
    tags=["garden", "shoot"],
    render_template_as_native_obj=True,
    params={
        # No pattern here: the first task checks the project and names the rule it breaks.
        "project": Param(
            "demo",
            type="string",
            description="Project (a team): shoots live in the seed namespace garden-<project>. "
            f"Must be {PROJECT_RULES}.",
        ),
        "name": Param(
            "hello",
            type="string",
            pattern=shoot_schema.DNS_LABEL,
            maxLength=20,
            description="Shoot name, unique within the project.",
        ),
        "kubernetes_version": spec_param(
            "kubernetes_version",
            VERSIONS[0],
            examples=VERSIONS,
            description="The local seed offers "
            + ", ".join(VERSIONS)
            + (f" ({', '.join(_DEPRECATED)} deprecated: leave it soon)" if _DEPRECATED else "")
            + ".",
        ),
        "networking": spec_param(
            "networking",
            {
                "pods": shoot_schema.DEFAULT_PODS_CIDR,
                "services": shoot_schema.DEFAULT_SERVICES_CIDR,
            },
        ),
        "workers": spec_param("workers", []),
        "backup": spec_param(
            "backup", {"store": {"kind": "local"}, "retention": {"policy": "Exponential"}}
        ),
        "maintenance_window": spec_param(
            "maintenance_window", {"begin": "220000+0000", "end": "230000+0000"}
        ),
    },
) as dag:
    create = ShootCreateOperator(
        task_id="create_shoot",
        project="{{ params.project }}",
        name="{{ params.name }}",
        spec={
            "kubernetes": {"version": "{{ params.kubernetes_version }}"},
            "networking": "{{ params.networking }}",
            "workers": "{{ params.workers }}",
            "maintenance": {"timeWindow": "{{ params.maintenance_window }}"},
            "backup": "{{ params.backup }}",
        },
    )
    ready = ShootReadySensor(
        task_id="wait_until_ready",
        project="{{ params.project }}",
        name="{{ params.name }}",
        timeout=900,
    )

    @task
    def summary(params: dict[str, str] | None = None, dag_run: Any = None) -> str:
        p = params or {}
        user = getattr(dag_run, "triggering_user_name", None) or "<you>"
        text = (
            f"Shoot {p['project']}/{p['name']} is ready.\n"
            f"  kubeconfig: garden kubeconfig {p['project']}/{p['name']} --user {user} "
            "--expiration 1h > shoot.kubeconfig\n"
            f"  then:       kubectl --kubeconfig shoot.kubeconfig get --raw /readyz\n"
            f"  the fleet:  garden shoots ls  (or kubectl get shoots -A on the seed)"
        )
        print(text)
        return text

    first_backup = EtcdBackupOperator(
        task_id="first_backup", project="{{ params.project }}", name="{{ params.name }}"
    )

    create >> ready >> first_backup >> summary()
