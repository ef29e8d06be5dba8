"""ShootReadySensor deferred beside the ShootCreate it waits for (not after it),
so it must wait in the real triggerer."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from airflow_provider_garden.operators.shoot import ShootCreateOperator
from airflow_provider_garden.sensors.shoot import ShootReadySensor

with DAG(
    dag_id="e2e_shoot_sensor",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    dagrun_timeout=timedelta(minutes=15),
    render_template_as_native_obj=True,
    params={"project": "e2e", "name": "sensed", "version": "1.32.13"},
):
    ShootCreateOperator(
        task_id="create",
        project="{{ params.project }}",
        name="{{ params.name }}",
        spec={"kubernetes": {"version": "{{ params.version }}"}},
    )
    ShootReadySensor(
        task_id="ready",
        project="{{ params.project }}",
        name="{{ params.name }}",
        deferrable=True,
        poke_interval=2,
        timeout=600,
    )
