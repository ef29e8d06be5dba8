"""Worker pools in reconcile, and EveryNodeReady from machine states (no cluster)."""

from __future__ import annotations

import itertools

from airflow_provider_garden.agent import workers
from airflow_provider_garden.core.shoot_spec import MachineImage, Worker
from airflow_provider_garden.core.status import ConditionStatus, ConditionType, VersionCount
from airflow_provider_garden.drivers.base import MachineState

POOL = Worker(
    name="a",
    machine_type="local",
    image=MachineImage(name="gardenlinux", version="1592.2"),
    minimum=3,
    maximum=4,
)


def machine(name: str, *, ready: bool = True, deleting: bool = False) -> MachineState:
    return MachineState(
        name=name,
        node_name=name,
        pool="a",
        machine_type="local",
        image_name="gardenlinux",
        image_version="1592.2",
        ready=ready,
        health="Ready" if ready else "booting",
        deleting=deleting,
    )


class InMemoryDriver:
    """The driver interface over a list: what reconcile asks, not how a cloud answers."""

    def __init__(self, machines: list[MachineState]) -> None:
        self.machines = machines
        self._ids = itertools.count()

    def list_machines(self, pool: str) -> list[MachineState]:
        return [m for m in self.machines if m.pool == pool]

    def create_machine(self, worker: Worker) -> str:
        name = f"new-{next(self._ids)}"
        self.machines.append(machine(name, ready=False))
        return name

    def delete_machine(self, name: str) -> bool:
        raise AssertionError("reconcile never deletes machines")


def test_reconcile_tops_up_to_the_minimum_and_never_deletes() -> None:
    driver = InMemoryDriver([machine("m1"), machine("gone", deleting=True)])
    assert workers.ensure_minimum(driver, [POOL]) == {"a": ["new-0", "new-1"]}
    assert workers.ensure_minimum(driver, [POOL]) == {}


def test_pools_ready_names_what_lacks() -> None:
    pools = {"a": [machine("m1"), machine("m2", ready=False), machine("m3")]}
    assert workers.pools_ready(pools, [POOL]) == "a (2/3 Ready)"
    pools["a"][1] = machine("m2")
    assert workers.pools_ready(pools, [POOL]) == ""


def test_every_node_ready_from_the_nodes() -> None:
    assert workers.node_readiness({}).reason == "NoWorkers"
    ok = workers.node_readiness({"a": [machine("m1"), machine("x", deleting=True, ready=False)]})
    assert (ok.status, ok.message) == (ConditionStatus.TRUE, "all 1 machines are Ready")
    bad = workers.node_readiness({"a": [machine("m1"), machine("m2", ready=False)]})
    assert (bad.status, bad.message) == (ConditionStatus.FALSE, "1 of 2 machines are not Ready: m2")
    assert bad.type is ConditionType.EVERY_NODE_READY


def test_pool_status_counts_versions() -> None:
    entry = workers.pool_status(POOL, [machine("m1"), machine("m2", ready=False)], updated=1)
    assert (entry.machines, entry.ready, entry.updated) == (2, 1, 1)
    assert entry.versions == (VersionCount(version="1592.2", machines=2),)
    wire = entry.to_dict()
    assert wire["versions"] == [{"version": "1592.2", "machines": 2}]
    assert wire["image"] == {"name": "gardenlinux", "version": "1592.2"}
