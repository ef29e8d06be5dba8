"""Machine health inside a care run: bounded by the run's deadline, and a lost Lease
stops one shoot's healing, not care (no cluster: a driver of plain data, a fake clock)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from kubernetes import client as k8s_client

from airflow_provider_garden.agent import care as care_agent
from airflow_provider_garden.agent import machine_health
from airflow_provider_garden.agent.machine_health import HealOptions, HealResult, MachineHealer
from airflow_provider_garden.core.shoot_spec import MachineImage, Worker
from airflow_provider_garden.drivers.base import MachineState
from airflow_provider_garden.kube import lease
from airflow_provider_garden.kube.client import KubeClient

NOW = dt.datetime(2026, 12, 6, 22, 0, tzinfo=dt.UTC)
WORKER = Worker(
    name="a",
    machine_type="local",
    image=MachineImage(name="gl", version="1"),
    minimum=2,
    maximum=3,
    machine_health_timeout=dt.timedelta(minutes=1),
)


def machine(name: str, *, ready: bool, replaces: str = "", age: float = 3600) -> MachineState:
    return MachineState(
        name=name,
        node_name=name,
        pool="a",
        machine_type="local",
        image_name="gl",
        image_version="1",
        ready=ready,
        health="Ready" if ready else "Ready=False",
        created=NOW - dt.timedelta(seconds=age),
        ready_changed=NOW - dt.timedelta(seconds=age),
        replaces=replaces,
    )


@dataclass
class Pool:
    """The driver's side of one pool: machines as data; what was created or deleted."""

    machines: list[MachineState]
    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def list_machines(self, pool: str) -> list[MachineState]:
        return list(self.machines)

    def create_machine(self, worker: Worker, *, replaces: str) -> str:
        name = f"new-{len(self.created)}"
        self.created.append(name)
        self.machines.append(machine(name, ready=False, replaces=replaces, age=0))
        return name

    def delete_machine(self, name: str) -> bool:
        self.deleted.append(name)
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def healer(clock: Clock, deadline: float | None) -> MachineHealer:
    never_called = KubeClient(api_client=k8s_client.ApiClient())  # the pool is the driver's
    return MachineHealer(
        seed=never_called,
        shoot=never_called,
        project="p",
        name="s",
        holder="care",
        # force_drain: no look at the pods before a replacement (the driver is data here)
        options=HealOptions(deadline=deadline, interval=5.0, force_drain=True),
        now=lambda: NOW,
        clock=clock,
        sleep=clock.sleep,
    )


def test_waiting_for_a_booting_replacement_stops_at_the_deadline() -> None:
    clock = Clock()
    pool = Pool([machine("old", ready=False), machine("b", ready=True)])
    job = healer(clock, deadline=clock.now + 60)
    with pytest.raises(
        machine_health.OutOfTime, match="1 replacement\\(s\\) or refill\\(s\\) in flight"
    ):
        job._heal_pool(pool, WORKER)  # type: ignore[arg-type]
    assert pool.created == ["new-0"]  # replaced before the deadline
    assert pool.deleted == []  # the old one stays until its replacement is Ready
    assert 560 <= clock.now < 570  # waited up to the deadline, not the creation timeout


def test_nothing_is_started_after_the_deadline() -> None:
    clock = Clock()
    pool = Pool([machine("old", ready=False), machine("b", ready=True)])
    job = healer(clock, deadline=clock.now - 1)
    with pytest.raises(machine_health.OutOfTime, match="old not yet replaced"):
        job._heal_pool(pool, WORKER)  # type: ignore[arg-type]
    assert (pool.created, pool.deleted) == ([], [])


def test_without_a_deadline_the_heal_waits_on() -> None:
    """``machines heal`` run alone: it waits for the replacement (up to the creation
    timeout), here well past where a care run's deadline would have stopped it."""
    clock = Clock()
    pool = Pool([machine("old", ready=False), machine("b", ready=True)])
    job = healer(clock, deadline=None)

    class Enough(Exception):
        pass

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if clock.now >= 500 + 600:
            raise Enough

    job.sleep = sleep
    with pytest.raises(Enough):
        job._heal_pool(pool, WORKER)  # type: ignore[arg-type]
    assert pool.created == ["new-0"]


def target(deadline: float | None) -> care_agent.CareTarget:
    from airflow_provider_garden.core import care

    unready = care.Node(name="n", pool="a", ready=False, image_name="gl", image_version="1")
    spec: Any = type("Spec", (), {"project": "p", "name": "s"})()
    observation: Any = type("Observation", (), {"nodes": (unready,)})()
    api = KubeClient(api_client=k8s_client.ApiClient())
    return care_agent.CareTarget(api, {}, spec, api, observation, None, deadline)  # type: ignore[arg-type]


def test_care_heals_each_shoot_under_a_lease_whose_loss_stops_that_shoot_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}

    def heal_shoot(seed: KubeClient, shoot: KubeClient, *a: Any, **kw: Any) -> HealResult:
        seen.update(seed=seed, shoot=shoot, **kw)
        return HealResult(lost="lease p/s.operation lost by care_1; now held by rollout_2")

    monkeypatch.setattr(machine_health, "heal_shoot", heal_shoot)
    with pytest.raises(care_agent.NotHealed, match=r"machines not healed: .*held by rollout_2"):
        care_agent.heal_machines(target(deadline=1000.0))
    stop = seen["on_lease_lost"]
    assert isinstance(stop, lease.StopWork)  # not lease.abort_process: care goes on
    assert seen["seed"].before_request == stop.check  # every request of the heal is guarded
    assert seen["shoot"].before_request == stop.check
    assert seen["options"].deadline == 1000.0 - care_agent.WRITE_MARGIN


def test_care_reports_healing_that_continues_next_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def heal_shoot(*a: Any, **kw: Any) -> HealResult:
        return HealResult(continues="healing continues next run: pool a: 1 replacement(s)")

    monkeypatch.setattr(machine_health, "heal_shoot", heal_shoot)
    done = care_agent.heal_machines(target(deadline=1000.0))
    assert done is not None
    note = done.note
    assert note == "healing continues next run: pool a: 1 replacement(s)"
    summary = care_agent.summary([{"shoot": "garden-p/s", "status": "unhealthy", "notes": [note]}])
    assert summary["notes"] == [f"garden-p/s: {note}"]
    assert summary["errorCount"] == 0  # not a failure of the run
