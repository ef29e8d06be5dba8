"""What a rollout and a heal share: one shoot's machines, changed under its operation Lease."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_garden.core import naming
from airflow_provider_garden.drivers.local import LocalDriver, LocalDriverConfig
from airflow_provider_garden.kube import lease
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.shoots import Shoots

LEASE_SECONDS = 60


@dataclass(kw_only=True, eq=False)
class ShootMachinesJob:
    """``seed`` holds the Shoot and its Lease; ``shoot`` is the shoot's own API."""

    seed: KubeClient
    shoot: KubeClient
    project: str
    name: str
    holder: str
    sleep: Callable[[float], None] = time.sleep
    shoots: Shoots = field(init=False)

    def __post_init__(self) -> None:
        self.shoots = Shoots(self.seed)

    def driver(self, resource: dict[str, Any]) -> LocalDriver:
        """The machine driver for the shoot ``resource``, configured by its annotations."""
        return LocalDriver(
            shoot_api=self.shoot,
            shoot=self.name,
            config=LocalDriverConfig.from_annotations(resource["metadata"].get("annotations")),
        )

    def try_acquire_lease(self) -> None:
        lease.try_acquire(self.seed, holder=self.holder, seconds=LEASE_SECONDS, **self._lease())

    @contextmanager
    def operation_lease(self) -> Iterator[None]:
        """Hold the shoot's operation Lease (one operation on a shoot at a time)."""
        with lease.held(self.seed, holder=self.holder, seconds=LEASE_SECONDS, **self._lease()):
            yield

    def _lease(self) -> dict[str, str]:
        return {
            "namespace": naming.project_namespace(self.project),
            "name": naming.operation_lease(self.name),
        }
