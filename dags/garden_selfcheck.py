"""garden_selfcheck: can this Airflow launch garden pods on the seed?"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from airflow_provider_garden.operators.selfcheck import ToolboxCheckOperator

with DAG(
    dag_id="garden_selfcheck",
    doc_md="""
### Self-check of the garden provider

Runs `garden-agent version` in the toolbox image as a pod on the seed named by the
`[garden] kubernetes_conn_id` connection, in the `[garden] namespace` namespace.
It succeeds when the pod ran, its JSON result came back as XCom and the image's agent
matches the provider installed here. Trigger it after installing the provider or
pointing it at a new seed.
""",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=10),
    tags=["garden", "selfcheck"],
):
    ToolboxCheckOperator(task_id="toolbox_version")
