"""e2e_deferrable: a task that defers to a timer, so only the triggerer can finish it.

One retry: Airflow 3.3.2 can fail a resumed task on the stale executor event of its
defer-exit (apache/airflow#67287, fixed after 3.3.2); the test accepts the retry only
when the scheduler's log shows that race for the first try."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
from airflow.sdk import DAG, BaseOperator, Context


class WaitInTriggerer(BaseOperator):
    """Frees its worker slot for `seconds`, then resumes and returns when it resumed."""

    def __init__(self, *, seconds: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seconds = seconds

    def execute(self, context: Context) -> None:
        self.defer(trigger=TimeDeltaTrigger(timedelta(seconds=self.seconds)), method_name="resume")

    def resume(self, context: Context, event: Any = None) -> str:
        return "resumed"


with DAG(
    dag_id="e2e_deferrable",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["e2e"],
):
    WaitInTriggerer(task_id="wait", seconds=5, retries=1, retry_delay=timedelta(seconds=1))
