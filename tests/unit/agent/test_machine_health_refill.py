"""Machine health refills a pool below its minimum, records it, and care's EveryNodeReady
names it; a shoot being deleted is left alone (no cluster: drivers and APIs as data)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client as k8s_client
from shoot_examples import LOCAL_SPEC

from airflow_provider_garden.agent import care as care_agent
from airflow_provider_garden.agent.machine_health import HealOptions, MachineHealer
from airflow_provider_garden.core import care
from airflow_provider_garden.core.shoot_spec import MachineImage, Worker
from airflow_provider_garden.core.status import ConditionStatus, ConditionType
from airflow_provider_garden.drivers.base import MachineState
from airflow_provider_garden.kube.client import KubeClient

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
WORKER = Worker(
    name="a",
    machine_type="local",
    image=MachineImage(name="gl", version="1"),
    minimum=3,
    maximum=4,
)


def machine(name: str, *, ready: bool, refill: bool = False) -> MachineState:
    return MachineState(
        name=name,
        node_name=name,
        pool="a",
        machine_type="local",
        image_name="gl",
        image_version="1",
        ready=ready,
        health="Ready" if ready else "booting: no Ready condition yet",
        created=NOW,
        refill=refill,
    )


@dataclass
class Pool:
    """The driver's side of one pool; a new machine boots on the healer's next sleep."""

    machines: list[MachineState]
    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def list_machines(self, pool: str) -> list[MachineState]:
        return list(self.machines)

    def create_machine(self, worker: Worker, *, replaces: str = "", refill: bool = False) -> str:
        assert (refill, replaces) == (True, "")
        name = f"new-{len(self.created)}"
        self.created.append(name)
        self.machines.append(machine(name, ready=False, refill=True))
        return name

    def delete_machine(self, name: str) -> bool:
        self.deleted.append(name)
        return True

    def boot(self, _seconds: float) -> None:
        self.machines = [machine(m.name, ready=True, refill=m.refill) for m in self.machines]


def healer(pool: Pool, records: list[dict[str, Any]]) -> MachineHealer:
    never_called = KubeClient(api_client=k8s_client.ApiClient())  # the pool is the driver's
    job = MachineHealer(
        seed=never_called,
        shoot=never_called,
        project="p",
        name="s",
        holder="care",
        options=HealOptions(interval=5.0),
        now=lambda: NOW,
        sleep=pool.boot,
    )
    job._record = lambda driver, worker, **kw: records.append(kw)  # type: ignore[method-assign]
    return job


def test_a_pool_short_of_two_machines_is_refilled_one_at_a_time_each_recorded() -> None:
    pool = Pool([machine("a1", ready=True)])
    records: list[dict[str, Any]] = []
    job = healer(pool, records)
    job._heal_pool(pool, WORKER)  # type: ignore[arg-type]
    assert pool.created == ["new-0", "new-1"]
    assert pool.deleted == []  # a refill only ever creates
    assert job.result.most_in_flight == 1  # maxUnavailable 0: one at a time
    reasons = [r.reason for r in job.result.refilled["a"]]
    assert reasons == [
        "pool a had 1 of its minimum 3 machines",
        "pool a had 2 of its minimum 3 machines",
    ]
    assert [r["refilled"].machine for r in records] == ["new-0", "new-1"]
    assert job.result.to_dict()["refilled"]["a"][0]["machine"] == "new-0"


class DeletedShoots:
    def __init__(self, resource: dict[str, Any]) -> None:
        self.resource = resource

    def get(self, project: str, name: str) -> dict[str, Any]:
        return self.resource


def test_a_shoot_whose_delete_failed_is_not_refilled() -> None:
    pool = Pool([])  # its delete took the pool away, then failed
    job = healer(pool, [])
    resource = {
        "metadata": {"name": "s", "namespace": "garden-p"},
        "spec": LOCAL_SPEC,
        "status": {"lastOperation": {"type": "Delete", "state": "Failed", "progress": 40}},
    }
    job.shoots = DeletedShoots(resource)  # type: ignore[assignment]
    result = job.run()
    assert "last operation is a Delete (Failed)" in result.skipped
    assert pool.created == []


class FakeShoots:
    """Care's side of the Shoots: its clock and what it writes."""

    def __init__(self) -> None:
        self.written: list[tuple[Any, ...]] = []

    def clock(self) -> dt.datetime:
        return NOW

    def write_care(self, *args: Any, **kwargs: Any) -> None:
        self.written.append(args)


class EmptyShoot:
    """A shoot's API that answers /readyz and lists nothing (its only node vanished)."""

    def raw(self, method: str, path: str) -> str:
        return "ok"

    def list(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []


class NoSecrets:
    def get(self, *args: Any) -> dict[str, Any]:
        raise LookupError("no kubeconfig Secret here")


def test_care_hands_a_pool_short_of_nodes_to_machine_health_and_names_the_refill() -> None:
    manifest = {
        "apiVersion": "garden.airflow.io/v1alpha1",
        "kind": "Shoot",
        "metadata": {"name": "s", "namespace": "garden-p"},
        "spec": LOCAL_SPEC,
    }

    def refill(target: care_agent.CareTarget) -> care_agent.HookResult:
        assert care.needs_machine_health(target.observation)  # no node at all: short
        return care_agent.HookResult(refilled={"pool-a": ["s-pool-a-x1"]})

    shoots = FakeShoots()
    options = care_agent.Options(thresholds={})
    out = care_agent.care_shoot(
        NoSecrets(),  # type: ignore[arg-type]
        shoots,  # type: ignore[arg-type]
        manifest,
        care_agent.SeedView({}),
        options,
        hooks=(refill,),
        shoot_client=lambda data: EmptyShoot(),  # type: ignore[arg-type,return-value]
    )
    [(_, _, conditions, _)] = shoots.written
    [nodes] = [c for c in conditions if c.type is ConditionType.EVERY_NODE_READY]
    assert nodes.status is ConditionStatus.FALSE  # as observed, before the refill
    assert nodes.message.startswith("pool pool-a has 0/1 Ready nodes")
    assert nodes.message.endswith("; pool pool-a refilled with s-pool-a-x1")
    assert out["status"] == "unhealthy"
