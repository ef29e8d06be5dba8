"""What a rollout and a heal share: one shoot's machines, changed under its operation Lease."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_garden.agent.shoot_operation import operation_lease
from airflow_provider_garden.drivers.local import LocalDriver, LocalDriverConfig
from airflow_provider_garden.kube import lease
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.shoots import Shoots


@dataclass(kw_only=True, eq=False)
class ShootMachinesJob:
    """``seed`` holds the Shoot and its Lease; ``shoot`` is the shoot's own API."""

    seed: KubeClient
    shoot: KubeClient
    project: str
    name: str
    holder: str
    sleep: Callable[[float], None] = time.sleep
    # What losing the Lease does: end the process (one shoot per process, exit 75), or,
    # where one process works on many shoots, a lease.StopWork whose guarded clients
    # the job was given (only this shoot's work stops, with LeaseLost).
    on_lease_lost: Callable[[str], None] = lease.abort_process
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

    @contextmanager
    def operation_lease(self, *, wait: float) -> Iterator[lease.OperationLease]:
        """Hold the shoot's operation Lease (one operation on a shoot at a time)."""
        with operation_lease(
            self.seed,
            project=self.project,
            name=self.name,
            holder=self.holder,
            wait=wait,
            on_lost=self.on_lease_lost,
        ) as held:
            yield held
