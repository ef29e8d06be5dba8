"""Machine health planning on a fake clock: when a machine is unhealthy, what to replace now."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_garden.core.machine_health import (
    Machine,
    is_unhealthy,
    max_in_flight,
    plan,
)

T0 = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
TIMEOUT = dt.timedelta(minutes=10)
BOOT = dt.timedelta(minutes=20)


def ready(name: str, **kw: object) -> Machine:
    return Machine(name=name, ready=True, created=T0 - dt.timedelta(hours=1), **kw)  # type: ignore[arg-type]


def down(name: str, minutes: float, **kw: object) -> Machine:
    """NotReady since ``minutes`` before T0."""
    return Machine(
        name=name,
        ready=False,
        ready_changed=T0 - dt.timedelta(minutes=minutes),
        created=T0 - dt.timedelta(hours=1),
        **kw,  # type: ignore[arg-type]
    )


def run(machines: list[Machine], *, max_unavailable: int | str = 0, at: dt.datetime = T0):
    return plan(
        machines,
        timeout=TIMEOUT,
        creation_timeout=BOOT,
        max_unavailable=max_unavailable,
        desired=5,
        now=at,
    )


@pytest.mark.parametrize(
    ("machine", "unhealthy"),
    [
        (ready("a"), False),
        (down("a", 9.99), False),  # not yet: inside the timeout
        (down("a", 10), True),  # exactly at the timeout
        (down("a", 30, deleting=True), False),  # already leaving
        # Never Ready since it was created 11 minutes ago: counted from creation.
        (Machine(name="a", ready=False, created=T0 - dt.timedelta(minutes=11)), True),
        (Machine(name="a", ready=False, created=T0 - dt.timedelta(minutes=9)), False),
        (Machine(name="a", ready=False), False),  # nothing says since when
    ],
)
def test_when_a_machine_is_unhealthy(machine: Machine, unhealthy: bool) -> None:
    assert is_unhealthy(machine, now=T0, timeout=TIMEOUT) is unhealthy


@pytest.mark.parametrize(
    ("max_unavailable", "desired", "limit"), [(0, 5, 1), (1, 5, 2), ("50%", 5, 3), ("10%", 5, 1)]
)
def test_meltdown_limit_is_max_unavailable_plus_one(
    max_unavailable: int | str, desired: int, limit: int
) -> None:
    assert max_in_flight(max_unavailable, desired) == limit


def test_a_healthy_pool_is_idle() -> None:
    assert run([ready(f"m{i}") for i in range(5)]).idle


def test_a_machine_down_shorter_than_the_timeout_is_not_replaced() -> None:
    step = run([ready("a"), down("b", 5)])
    assert step.idle
    # ... until the fake clock passes its timeout.
    later = run([ready("a"), down("b", 5)], at=T0 + dt.timedelta(minutes=5))
    assert later.replace == ("b",)


def test_two_unhealthy_are_replaced_one_at_a_time_oldest_first() -> None:
    pool = [ready("a"), ready("b"), ready("c"), down("d", 12), down("e", 30)]
    first = run(pool)
    assert (first.replace, first.waiting, first.in_flight) == (("e",), ("d",), 1)
    # The replacement of e boots: nothing more starts (meltdown protection).
    booting = Machine(name="r1", ready=False, created=T0, replaces="e")
    second = run([*pool, booting], at=T0 + dt.timedelta(seconds=30))
    assert (second.replace, second.retire, second.waiting) == ((), (), ("d",))
    # Ready: e is drained and deleted; still nothing new until e is gone.
    up = ready("r1", replaces="e")
    third = run([*pool, up])
    assert (third.retire, third.replace) == (("e",), ())
    # e gone: r1 is an ordinary machine now, d's turn.
    fourth = run([m for m in pool if m.name != "e"] + [up])
    assert (fourth.replace, fourth.in_flight) == (("d",), 1)


def test_max_unavailable_lets_more_replacements_fly() -> None:
    pool = [ready("a"), down("b", 11), down("c", 12), down("d", 13)]
    step = run(pool, max_unavailable=1)
    assert (step.replace, step.waiting, step.limit) == (("d", "c"), ("b",), 2)


def test_a_replacement_never_ready_fails_and_stops_replacing() -> None:
    pool = [ready("a"), down("b", 40), down("c", 40)]
    stuck = Machine(name="r1", ready=False, created=T0 - BOOT, replaces="b")
    step = run([*pool, stuck])
    assert (step.failed, step.replace) == (("r1",), ())


def test_cordoned_and_excluded_machines_are_left_alone() -> None:
    pool = [ready("a"), down("b", 40, cordoned=True), down("c", 40)]
    assert run(pool).replace == ("c",)
    step = plan(
        pool,
        timeout=TIMEOUT,
        creation_timeout=BOOT,
        max_unavailable=0,
        desired=3,
        now=T0,
        exclude={"c"},
    )
    assert step.idle


def test_the_pool_never_loses_a_ready_machine_to_a_replacement() -> None:
    """Whatever the plan says, Ready machines are only ever retired once replaced by Ready."""
    pool = [ready("a"), ready("b"), down("c", 40), down("d", 40), down("e", 40)]
    machines = list(pool)
    ready_floor = sum(m.ready for m in machines)
    created = 0
    for _ in range(20):
        step = run(machines, max_unavailable=1)
        assert step.in_flight <= step.limit
        for old in step.retire:
            machines = [m for m in machines if m.name != old]
        for old in step.replace:
            created += 1
            machines.append(ready(f"r{created}", replaces=old))  # boots at once
        assert sum(m.ready for m in machines) >= ready_floor
        if step.idle:
            break
    assert sorted(m.name for m in machines) == ["a", "b", "r1", "r2", "r3"]
    assert all(m.ready for m in machines)
