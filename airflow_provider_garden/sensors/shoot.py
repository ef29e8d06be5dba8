"""ShootReadySensor: waits until a shoot's last operation succeeded and it is healthy."""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.configuration import conf
from airflow.sdk.exceptions import AirflowException

from airflow_provider_garden.core.shoot_health import Verdict, shoot_health
from airflow_provider_garden.hooks.garden import GardenHook
from airflow_provider_garden.triggers.shoot import ShootReadyTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context


class ShootReadySensor(BaseSensorOperator):
    """Wait for ``lastOperation.state == Succeeded`` and the conditions APIServerAvailable,
    ControlPlaneHealthy, EveryNodeReady and SystemComponentsHealthy all True.

    Fails at once on non-retryable error codes (ERR_CONFIGURATION_PROBLEM, ...).

    :param project: project of the shoot (templated).
    :param name: shoot name (templated).
    :param kubernetes_conn_id: the seed's connection (default: ``[garden] kubernetes_conn_id``).
    :param deferrable: wait in the triggerer instead of holding a worker slot.
    """

    template_fields = ("project", "shoot_name")

    def __init__(
        self,
        *,
        project: str,
        name: str,
        kubernetes_conn_id: str | None = None,
        deferrable: bool = True,
        poke_interval: float = 5.0,
        timeout: float = 1800.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, timeout=timeout, **kwargs)
        self.project = project
        self.shoot_name = name
        self.kubernetes_conn_id = kubernetes_conn_id or conf.get("garden", "kubernetes_conn_id")
        self.deferrable = deferrable

    @cached_property
    def garden(self) -> GardenHook:
        return GardenHook(self.kubernetes_conn_id)

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return None
        self.defer(
            trigger=ShootReadyTrigger(
                kubernetes_conn_id=self.kubernetes_conn_id,
                project=self.project,
                name=self.shoot_name,
                poll_interval=float(self.poke_interval),
                timeout=float(self.timeout or 1800.0),
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout or 1800.0) + 60),
        )

    def poke(self, context: Context) -> bool:
        health = shoot_health(self.garden.shoots.find(self.project, self.shoot_name))
        if health.verdict is Verdict.FAILED:
            raise AirflowException(
                f"shoot {self.project}/{self.shoot_name} failed: {health.message}"
            )
        self.log.info("shoot %s/%s: %s", self.project, self.shoot_name, health.message)
        return health.verdict is Verdict.READY

    def execute_complete(self, context: Context, event: dict[str, Any]) -> None:
        if event.get("status") != "success":
            raise AirflowException(
                f"shoot {self.project}/{self.shoot_name} {event.get('status')}: {event.get('message')}"
            )
        self.log.info(
            "shoot %s/%s is ready: %s", self.project, self.shoot_name, event.get("message")
        )
