"""ShootStatusTrigger: waits in the triggerer until a Shoot's status passes a check."""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from airflow.providers.cncf.kubernetes.hooks.kubernetes import AsyncKubernetesHook
from airflow.triggers.base import BaseTrigger, TriggerEvent
from kubernetes_asyncio import client as async_client
from kubernetes_asyncio.client.exceptions import ApiException

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.shoot_health import Health, Verdict, backup_health, shoot_health
from airflow_provider_garden.kube.errors import NotFound, from_exception
from airflow_provider_garden.kube.resources import GROUP, VERSION


class Check(enum.StrEnum):
    READY = "ready"  # lastOperation Succeeded and every condition True
    BACKUP_FRESH = "backup_fresh"  # newest good backup younger than max_backup_age


def evaluate(
    check: Check, shoot: Mapping[str, Any] | None, *, max_backup_age: float | None
) -> Health:
    if check is Check.READY:
        return shoot_health(shoot)
    age = dt.timedelta(seconds=max_backup_age or 0)
    return backup_health(shoot, now=dt.datetime.now(dt.UTC), max_age=age)


class ShootStatusTrigger(BaseTrigger):
    """Poll the Shoot; yield one event: ``success``, ``failed`` or ``timeout``.

    :param kubernetes_conn_id: the seed's connection.
    :param project: project of the shoot.
    :param name: shoot name.
    :param check: what must hold (``ready`` or ``backup_fresh``).
    :param max_backup_age: seconds, for ``backup_fresh``.
    :param poll_interval: seconds between reads.
    :param timeout: seconds before giving up (``timeout`` event).
    """

    def __init__(
        self,
        *,
        kubernetes_conn_id: str,
        project: str,
        name: str,
        check: str = Check.READY.value,
        max_backup_age: float | None = None,
        poll_interval: float = 5.0,
        timeout: float = 1800.0,
    ) -> None:
        super().__init__()
        self.kubernetes_conn_id = kubernetes_conn_id
        self.project = project
        self.name = name
        self.check = Check(check)
        self.max_backup_age = max_backup_age
        self.poll_interval = poll_interval
        self.timeout = timeout

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "kubernetes_conn_id": self.kubernetes_conn_id,
                "project": self.project,
                "name": self.name,
                "check": self.check.value,
                "max_backup_age": self.max_backup_age,
                "poll_interval": self.poll_interval,
                "timeout": self.timeout,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        deadline = time.monotonic() + self.timeout
        hook = AsyncKubernetesHook(conn_id=self.kubernetes_conn_id)
        message = "not read yet"
        async with hook.get_conn() as api_client:
            api = async_client.CustomObjectsApi(api_client)
            while time.monotonic() < deadline:
                try:
                    shoot = await api.get_namespaced_custom_object(
                        GROUP, VERSION, naming.project_namespace(self.project), "shoots", self.name
                    )
                except ApiException as exc:
                    err = from_exception(exc)
                    if not isinstance(err, NotFound):
                        raise err from None
                    shoot = None
                health = evaluate(self.check, shoot, max_backup_age=self.max_backup_age)
                message = health.message
                if health.verdict is Verdict.READY:
                    yield TriggerEvent({"status": "success", "message": message})
                    return
                if health.verdict is Verdict.FAILED:
                    yield TriggerEvent({"status": "failed", "message": message})
                    return
                self.log.info("shoot %s/%s: %s", self.project, self.name, message)
                await asyncio.sleep(self.poll_interval)
        yield TriggerEvent(
            {"status": "timeout", "message": f"after {self.timeout:.0f}s: {message}"}
        )
