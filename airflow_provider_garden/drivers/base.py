"""The machine-driver interface: what a rollout and a reconcile ask of any driver.

A driver creates, deletes and lists the machines of a worker pool and reports
their health; it knows nothing about rollouts. Every machine becomes one Node
of the shoot, labelled with its pool, machine type and image, so the shoot's
own view (``kubectl get nodes -L worker.garden.airflow.io/pool``) tells the same
story as the driver.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from airflow_provider_garden.core.machine_health import Machine as HealthMachine
from airflow_provider_garden.core.manifest import Manifest
from airflow_provider_garden.core.rollout import Machine
from airflow_provider_garden.core.shoot_spec import Worker

LABEL_POOL = "worker.garden.airflow.io/pool"
LABEL_IMAGE_NAME = "worker.garden.airflow.io/image-name"
LABEL_IMAGE_VERSION = "worker.garden.airflow.io/image-version"
LABEL_MACHINE_TYPE = "node.kubernetes.io/instance-type"  # the well-known node label


class ShootApi(Protocol):
    """The calls a driver makes on the shoot's Nodes (``kube.client.KubeClient`` has them)."""

    def list(self, api_version: str, kind: str, *, label_selector: str) -> list[Manifest]: ...

    def create(self, manifest: Manifest) -> Manifest: ...

    def delete(self, api_version: str, kind: str, name: str) -> bool: ...


@dataclass(frozen=True, kw_only=True)
class MachineState:
    """One machine as the driver sees it, with the health of its node."""

    name: str
    node_name: str
    pool: str
    machine_type: str
    image_name: str
    image_version: str
    ready: bool
    health: str  # why (not) ready, for people: "Ready", "booting for 12s", ...
    cordoned: bool = False
    deleting: bool = False
    created: dt.datetime | None = None
    # lastTransitionTime of the node's Ready condition; None: no such condition yet.
    ready_changed: dt.datetime | None = None
    replaces: str = ""  # the unhealthy machine this one was created to replace
    refill: bool = False  # created to refill its pool up to its minimum

    def for_health(self) -> HealthMachine:
        return HealthMachine(
            name=self.name,
            ready=self.ready,
            ready_changed=self.ready_changed,
            created=self.created,
            cordoned=self.cordoned,
            deleting=self.deleting,
            replaces=self.replaces,
            refill=self.refill,
        )

    def for_rollout(self) -> Machine:
        return Machine(
            name=self.name,
            version=self.image_version,
            ready=self.ready,
            cordoned=self.cordoned,
            deleting=self.deleting,
            created=self.created,
        )


class MachineDriver(Protocol):
    def list_machines(self, pool: str) -> list[MachineState]:
        """Every machine of ``pool``, including those being deleted."""
        ...

    def create_machine(self, worker: Worker) -> str:
        """Start one machine of ``worker`` on its spec's image; return its name."""
        ...

    def delete_machine(self, name: str) -> bool:
        """Delete a machine; False when it was already gone."""
        ...
