"""e2e_on_kill: a task that runs until it is stopped and leaves a mark when on_kill runs."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, BaseOperator, Context


class RunUntilKilled(BaseOperator):
    """Writes `started` to `marker` (templated), sleeps, and writes `killed` from on_kill."""

    template_fields: Sequence[str] = ("marker",)

    def __init__(self, *, marker: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.marker = marker

    def execute(self, context: Context) -> None:
        Path(self.marker).write_text("started")
        time.sleep(600)

    def on_kill(self) -> None:
        Path(self.marker).write_text("killed")


with DAG(
    dag_id="e2e_on_kill",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["e2e"],
):
    RunUntilKilled(task_id="run", marker="{{ dag_run.conf['marker'] }}", retries=0)
