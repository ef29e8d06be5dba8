"""Machine health planning on a fake clock: when a machine is unhealthy, what to replace now."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from airflow_provider_garden.core.machine_health import (
    Machine,
    hands_off,
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


def run(
    machines: list[Machine],
    *,
    max_unavailable: int | str = 0,
    at: dt.datetime = T0,
    desired: int | None = None,
):
    """The plan for a pool whose minimum is, unless given, its machines but replacements
    (nothing to refill)."""
    return plan(
        machines,
        timeout=TIMEOUT,
        creation_timeout=BOOT,
        max_unavailable=max_unavailable,
        desired=sum(not m.replaces for m in machines) if desired is None else desired,
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


def refill(name: str, *, age: dt.timedelta, ready: bool = False) -> Machine:
    return Machine(name=name, ready=ready, created=T0 - age, refill=True)


def test_a_pool_below_its_minimum_is_refilled_one_at_a_time() -> None:
    step = run([ready("a")], desired=3)
    assert (step.refill, step.missing, step.machines, step.in_flight) == (1, 2, 1, 1)
    assert not step.idle
    # The refill boots: it counts as a machine of the pool and as in flight.
    booting = refill("f1", age=dt.timedelta(seconds=30))
    second = run([ready("a"), booting], desired=3)
    assert (second.refill, second.missing, second.in_flight) == (0, 1, 1)
    # Ready: the next one.
    third = run([ready("a"), refill("f1", age=BOOT, ready=True)], desired=3)
    assert (third.refill, third.missing, third.in_flight) == (1, 1, 1)


def test_refills_share_the_meltdown_budget_and_go_before_replacements() -> None:
    pool = [ready("a"), down("b", 30)]
    step = run(pool, desired=4, max_unavailable=1)  # limit 2: two missing take it all
    assert (step.refill, step.replace, step.waiting, step.limit) == (2, (), ("b",), 2)
    step = run(pool, desired=3, max_unavailable=1)
    assert (step.refill, step.replace) == (1, ("b",))
    # a replacement in flight leaves no room at limit 1
    booting = Machine(name="r1", ready=False, created=T0, replaces="b")
    step = run([*pool, booting], desired=3)
    assert (step.refill, step.missing, step.in_flight) == (0, 1, 1)


def test_a_machine_and_its_replacement_count_once_and_deleting_ones_not_at_all() -> None:
    up = Machine(name="r1", ready=True, created=T0, replaces="b")
    step = run([ready("a"), down("b", 30), up], desired=2)
    assert (step.retire, step.refill, step.machines) == (("b",), 0, 2)
    leaving = run([ready("a"), down("b", 30, deleting=True), up], desired=2)
    assert (leaving.refill, leaving.machines) == (0, 2)
    gone = run([ready("a"), ready("c", deleting=True)], desired=2)
    assert (gone.refill, gone.machines) == (1, 1)


def test_a_refill_that_never_boots_is_replaced_like_any_unhealthy_machine() -> None:
    stuck = refill("f1", age=BOOT)  # past the creation timeout: no longer in flight
    step = run([ready("a"), stuck], desired=2)
    assert (step.refill, step.replace, step.failed) == (0, ("f1",), ())
    young = refill("f1", age=TIMEOUT)  # unhealthy for the timeout, yet still booting
    assert run([ready("a"), young], desired=2).replace == ()


def test_a_pool_at_minimum_zero_or_above_it_is_not_refilled() -> None:
    assert run([], desired=0).idle
    assert run([ready("a"), ready("b")], desired=1).idle


def test_refilling_reaches_the_minimum_creating_only() -> None:
    machines: list[Machine] = []
    created = 0
    for _ in range(10):
        step = run(machines, desired=3, max_unavailable=1)
        assert step.in_flight <= step.limit
        assert (step.retire, step.replace, step.failed) == ((), (), ())  # nothing deleted
        machines = [replace(m, ready=True) for m in machines]  # the last ones boot
        for _ in range(step.refill):
            created += 1
            machines.append(refill(f"f{created}", age=dt.timedelta(0)))
        if step.idle:
            break
    assert (created, len(machines), all(m.ready for m in machines)) == (3, 3, True)


def shoot(*, deleting: bool = False, operation: str = "", state: str = "Succeeded") -> dict:
    meta: dict = {"name": "s"}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-06T12:00:00Z"
    last = {"type": operation, "state": state, "progress": 50} if operation else None
    return {"metadata": meta, "status": {"lastOperation": last} if last else {}}


@pytest.mark.parametrize(
    ("resource", "reason"),
    [
        (shoot(), ""),
        (shoot(operation="Reconcile", state="Failed"), ""),
        (shoot(deleting=True), "the shoot is being deleted"),
        (shoot(operation="Delete", state="Failed"), "last operation is a Delete (Failed)"),
        (shoot(operation="Delete", state="Processing"), "last operation is a Delete"),
    ],
)
def test_a_shoot_being_deleted_is_not_healed(resource: dict, reason: str) -> None:
    found = hands_off(resource)
    if reason:
        assert reason in found
    else:
        assert found == ""
