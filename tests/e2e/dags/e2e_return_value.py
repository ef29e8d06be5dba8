"""e2e_return_value: one @task whose return value must come back through the REST API."""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import dag, get_current_context, task


@dag(
    dag_id="e2e_return_value",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["e2e"],
)
def e2e_return_value() -> None:
    @task
    def answer() -> dict[str, Any]:
        context = get_current_context()
        return {"answer": 42, "conf": dict(context["dag_run"].conf or {})}

    answer()


e2e_return_value()
