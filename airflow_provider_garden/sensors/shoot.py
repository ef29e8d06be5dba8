"""Sensors on a Shoot's status: ShootReadySensor and EtcdBackupSensor."""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowException

from airflow_provider_garden.core.name_rules import ensure_projects
from airflow_provider_garden.core.project import Role
from airflow_provider_garden.core.shoot_health import Verdict
from airflow_provider_garden.hooks.garden import GardenHook
from airflow_provider_garden.hooks.project_access import authorize
from airflow_provider_garden.hooks.settings import garden_settings
from airflow_provider_garden.triggers.shoot import Check, ShootStatusTrigger, evaluate

if TYPE_CHECKING:
    from airflow.sdk import Context


class _ShootStatusSensor(BaseSensorOperator):
    template_fields = ("project", "shoot_name")
    check: ClassVar[Check]

    def __init__(
        self,
        *,
        project: str,
        name: str,
        kubernetes_conn_id: str | None = None,
        deferrable: bool = True,
        poke_interval: float = 5.0,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        settings = garden_settings()
        if timeout is None:
            timeout = settings.shoot_ready_timeout.total_seconds()
        super().__init__(poke_interval=poke_interval, timeout=timeout, **kwargs)
        self.project = project
        self.shoot_name = name
        self.kubernetes_conn_id = kubernetes_conn_id or settings.kubernetes_conn_id
        self.deferrable = deferrable
        self.settings = settings

    @property
    def max_backup_age(self) -> float | None:
        return None

    @cached_property
    def garden(self) -> GardenHook:
        return GardenHook(self.kubernetes_conn_id, settings=self.settings)

    def execute(self, context: Context) -> Any:
        # The settings of this seed, when the sensor runs: what its garden connection sets
        # (reads the connection, not the seed).
        self.settings = GardenHook(self.kubernetes_conn_id, settings=self.settings).settings
        projects = [("project", self.project)]
        ensure_projects(projects, provider_namespace=self.settings.namespace)
        # Reading a shoot's status needs a viewer of its project (an admin is one too).
        authorize(
            self.garden.kube,
            self.settings,
            context,
            projects,
            needed=Role.VIEWER,
            operation=f"{type(self).__name__} {self.task_id!r}",
        )
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return None
        self.defer(
            trigger=ShootStatusTrigger(
                kubernetes_conn_id=self.kubernetes_conn_id,
                project=self.project,
                name=self.shoot_name,
                check=self.check.value,
                max_backup_age=self.max_backup_age,
                poll_interval=float(self.poke_interval),
                timeout=float(self.timeout),
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout) + 60),
        )

    def poke(self, context: Context) -> bool:
        shoot = self.garden.shoots.find(self.project, self.shoot_name)
        health = evaluate(self.check, shoot, max_backup_age=self.max_backup_age)
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
        self.log.info("shoot %s/%s: %s", self.project, self.shoot_name, event.get("message"))


class ShootReadySensor(_ShootStatusSensor):
    """Wait for ``lastOperation.state == Succeeded`` and the conditions APIServerAvailable,
    ControlPlaneHealthy, EveryNodeReady and SystemComponentsHealthy all True.

    Fails at once on non-retryable error codes (ERR_CONFIGURATION_PROBLEM, ...).

    :param project: project of the shoot (templated).
    :param name: shoot name (templated).
    :param kubernetes_conn_id: the seed's connection (default: ``[garden] kubernetes_conn_id``).
    :param deferrable: wait in the triggerer instead of holding a worker slot.
    """

    check = Check.READY


class EtcdBackupSensor(_ShootStatusSensor):
    """Wait until the shoot's newest good etcd backup is younger than ``max_age``.

    Reads ``status.lastBackup``, which EtcdBackupOperator records only for verified
    snapshots.

    :param project: project of the shoot (templated).
    :param name: shoot name (templated).
    :param max_age: how old the newest good backup may be.
    :param deferrable: wait in the triggerer instead of holding a worker slot.
    """

    check = Check.BACKUP_FRESH

    def __init__(self, *, max_age: timedelta = timedelta(hours=1), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_age = max_age

    @property
    def max_backup_age(self) -> float | None:
        return self.max_age.total_seconds()
