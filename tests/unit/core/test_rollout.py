from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import replace
from typing import Any

import pytest

from airflow_provider_garden.core import rollout
from airflow_provider_garden.core.intstr import IntOrPercent
from airflow_provider_garden.core.rollout import (
    Machine,
    RolloutStep,
    plan_step,
    preflight_problem,
    resolve_fenceposts,
    scale_to_zero_problem,
    should_freeze,
)

NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)
OLD, NEW = "1592.2", "1592.4"


@pytest.mark.parametrize(
    ("surge", "unavailable", "desired", "expected"),
    [
        # Kubernetes' own examples from deployment_util.go's ResolveFenceposts comment.
        ("0%", "1%", 2, (0, 1)),  # both resolve to 0: unavailable becomes 1
        ("0%", "1%", 1, (0, 1)),
        ("1%", "25%", 2, (1, 0)),  # surge rounds up, unavailable down
        ("1%", "25%", 1, (1, 0)),
        ("1%", "0%", 2, (1, 0)),
        ("1%", "0%", 1, (1, 0)),
        # more fenceposts
        ("25%", "25%", 10, (3, 2)),  # 2.5 -> 3 up, 2 down
        ("25%", "25%", 3, (1, 0)),
        (0, "25%", 3, (0, 1)),  # 0.75 -> 0, both 0 -> unavailable 1
        ("100%", "100%", 5, (5, 5)),
        ("150%", 0, 2, (3, 0)),  # surge beyond desired is allowed
        (5, 0, 2, (5, 0)),
        (0, 5, 2, (0, 5)),  # not clamped, as in ResolveFenceposts; planning floors at 0
        (1, 0, 0, (1, 0)),
        ("50%", "50%", 0, (0, 1)),
        (2, 0, 10, (2, 0)),
    ],
)
def test_resolve_fenceposts(
    surge: IntOrPercent, unavailable: IntOrPercent, desired: int, expected: tuple[int, int]
) -> None:
    assert resolve_fenceposts(surge, unavailable, desired) == expected


@pytest.mark.parametrize(("surge", "unavailable"), [("x", 0), (-1, 0), (0, "5"), (True, 0)])
def test_resolve_fenceposts_rejects_garbage(surge: object, unavailable: object) -> None:
    with pytest.raises(ValueError, match=r"neither|negative"):
        resolve_fenceposts(surge, unavailable, 3)  # type: ignore[arg-type]


def pool(
    old: int, new: int = 0, *, ready: bool = True, cordoned: bool = False, deleting: bool = False
) -> list[Machine]:
    names = [(f"old-{i}", OLD) for i in range(old)] + [(f"new-{i}", NEW) for i in range(new)]
    return [
        Machine(name=n, version=v, ready=ready, cordoned=cordoned, deleting=deleting)
        for n, v in names
    ]


def step(
    machines: list[Machine],
    desired: int,
    surge: IntOrPercent,
    unavailable: IntOrPercent,
    *,
    now: dt.datetime = NOW,
    failed_before: tuple[str, ...] = (),
    freeze_after: int = 3,
) -> RolloutStep:
    return plan_step(
        machines,
        desired=desired,
        target_version=NEW,
        max_surge=surge,
        max_unavailable=unavailable,
        now=now,
        failed_before=failed_before,
        freeze_after=freeze_after,
    )


@pytest.mark.parametrize(
    ("machines", "desired", "surge", "unavailable", "create", "drain"),
    [
        # 10 old, surge 2 / unavailable 0: create 2 first, drain nothing.
        (pool(10), 10, 2, 0, 2, ()),
        # The 2 new are Ready: drain 2 old (alphabetical), create nothing (12 exist).
        (pool(10, 2), 10, 2, 0, 0, ("old-0", "old-1")),
        # New not Ready yet: wait.
        (pool(10) + pool(0, 2, ready=False), 10, 2, 0, 0, ()),
        # surge 0 / unavailable 1: drain one old first, then create.
        (pool(3), 3, 0, 1, 0, ("old-0",)),
        (pool(2) + pool(1, cordoned=True, deleting=True), 3, 0, 1, 0, ()),
        (pool(2), 3, 0, 1, 1, ()),
        # One machine, default fenceposts (surge 1, unavailable 0).
        (pool(1), 1, 1, 0, 1, ()),
        (pool(1, 1), 1, 1, 0, 0, ("old-0",)),
        # One machine, percent fenceposts that round to 0/0 -> unavailable 1.
        (pool(1), 1, "0%", "10%", 0, ("old-0",)),
        # Percent rounding: 25% of 10 -> surge 3, unavailable 2.
        (pool(10), 10, "25%", "25%", 3, ("old-0", "old-1")),
        # Surge larger than desired: all new at once.
        (pool(2), 2, "150%", 0, 2, ()),
        # All new already.
        (pool(0, 3), 3, 1, 0, 0, ()),
        # An old machine is unready: it does not serve, so it goes without using the budget.
        ([*pool(3), Machine(name="old-sick", version=OLD, ready=False)], 4, 1, 1, 1, ("old-sick",)),
        # An unready old machine is kept while the new ones are not Ready yet (it may recover).
        (
            [*pool(2), Machine(name="old-sick", version=OLD, ready=False), *pool(0, 1, ready=False)],
            3, 1, 0, 0, (),
        ),
        # A cordoned old machine (interrupted drain) is resumed even with no budget.
        ([*pool(2), Machine(name="old-x", version=OLD, ready=True, cordoned=True)], 3, 1, 0, 1,
         ("old-x",)),
        # Overshoot already (e.g. a crashed run): nothing is created.
        ([*pool(10), *pool(0, 3, ready=False)], 10, 2, 0, 0, ()),
        # Desired shrank after the rollout: surplus new are dropped within budget.
        (pool(0, 5), 3, 1, 0, 0, ("new-0", "new-1")),
    ],
)  # fmt: skip
def test_plan_step(
    machines: list[Machine],
    desired: int,
    surge: IntOrPercent,
    unavailable: IntOrPercent,
    create: int,
    drain: tuple[str, ...],
) -> None:
    planned = step(_unique(machines), desired, surge, unavailable)
    assert (planned.create, planned.drain) == (create, drain)


def _unique(machines: list[Machine]) -> list[Machine]:
    """Rename duplicates produced by concatenating pools."""
    seen: dict[str, int] = {}
    out = []
    for m in machines:
        n = seen.get(m.name, 0)
        seen[m.name] = n + 1
        out.append(m if n == 0 else replace(m, name=f"{m.name}-{n}"))
    return out


def test_done_and_summary() -> None:
    planned = step(pool(0, 3), 3, 1, 0)
    assert planned.done
    assert planned.summary == "3/3 machines on 1592.4"
    midway = step(_unique(pool(7, 3)), 10, 2, 0)
    assert not midway.done
    assert midway.summary == "3/10 machines on 1592.4"


def test_waiting_explains_why() -> None:
    machines = _unique(pool(10) + pool(0, 2, ready=False))
    assert step(machines, 10, 2, 0).waiting_for == (
        "waiting for 2 new machine(s) to become Ready, "
        "room to replace 10 old machine(s) within maxUnavailable"
    )


def test_new_machine_not_ready_in_time_is_replaced_then_freezes() -> None:
    late = Machine(name="new-a", version=NEW, ready=False, created=NOW - dt.timedelta(minutes=21))
    fresh = Machine(name="new-b", version=NEW, ready=False, created=NOW - dt.timedelta(minutes=5))
    planned = step([*pool(3), late, fresh], 3, 2, 0)
    assert planned.delete == ("new-a",)
    assert planned.failed == ("new-a",)
    assert not planned.frozen
    assert planned.create == 0  # 5 machines exist: the cap is 3 + 2
    frozen = step([*pool(3), late], 3, 2, 0, failed_before=("new-x", "new-y"), freeze_after=3)
    assert frozen.frozen
    assert (frozen.create, frozen.drain, frozen.delete) == (0, (), ())
    assert frozen.failed == ("new-x", "new-y", "new-a")
    assert frozen.waiting_for == "frozen: 3 machine(s) never became Ready: new-x, new-y, new-a"


@pytest.mark.parametrize(("failed", "threshold", "freeze"), [(0, 1, False), (1, 1, True),
                                                             (2, 3, False), (3, 3, True)])  # fmt: skip
def test_should_freeze(failed: int, threshold: int, freeze: bool) -> None:
    assert should_freeze(failed, threshold=threshold) is freeze


def test_should_freeze_rejects_zero_threshold() -> None:
    with pytest.raises(ValueError, match="threshold"):
        should_freeze(0, threshold=0)


def test_duplicate_machine_names_are_rejected() -> None:
    with pytest.raises(ValueError, match="unique"):
        step(pool(1) + pool(1), 2, 1, 0)


def simulate(desired: int, surge: IntOrPercent, unavailable: IntOrPercent, start_new: int = 0,
             never_ready: int = 0) -> tuple[list[Machine], int, bool]:  # fmt: skip
    """Drive plan_step against a fake pool until done or frozen; check the bounds at every tick.

    Each tick: booting machines become Ready (except the first `never_ready` new ones),
    cordoned ones start deleting, deleting ones disappear; then the plan is applied.
    """
    max_surge, max_unavailable = resolve_fenceposts(surge, unavailable, desired)
    machines = _unique(pool(desired - start_new, start_new))
    counter = itertools.count()
    failed: tuple[str, ...] = ()
    now = NOW
    for tick in range(10 * desired + 20):
        now += dt.timedelta(minutes=5)
        after: list[Machine] = []
        for m in machines:
            if m.deleting:
                continue
            if m.cordoned:
                after.append(replace(m, deleting=True))
            elif not m.ready and not m.name.startswith("broken"):
                after.append(replace(m, ready=True))
            else:
                after.append(m)
        machines = after
        planned = step(machines, desired, surge, unavailable, now=now, failed_before=failed,
                       freeze_after=2)  # fmt: skip
        failed = planned.failed
        if planned.done or planned.frozen:
            return machines, tick, planned.frozen
        for name in planned.drain:
            machines = [replace(m, cordoned=True) if m.name == name else m for m in machines]
        for name in planned.delete:
            machines = [replace(m, deleting=True) if m.name == name else m for m in machines]
        for _ in range(planned.create):
            n = next(counter)
            broken = n < never_ready
            machines.append(Machine(name=f"{'broken' if broken else 'fresh'}-{n}", version=NEW,
                                    ready=False, created=now))  # fmt: skip
        assert len(machines) <= desired + max_surge, (tick, machines)
        available = sum(m.available for m in machines)
        assert available >= min(desired - max_unavailable, desired), (tick, machines)
    raise AssertionError("rollout did not finish")


@pytest.mark.parametrize(
    ("desired", "surge", "unavailable"),
    [(10, 2, 0), (10, 0, 1), (10, "25%", "25%"), (1, 1, 0), (1, "0%", "1%"), (3, "150%", 0),
     (7, 3, 2), (5, "10%", "10%"), (200, 10, 0), (2, 0, 2)],
)  # fmt: skip
def test_full_rollouts_stay_within_bounds(
    desired: int, surge: IntOrPercent, unavailable: IntOrPercent
) -> None:
    machines, _, frozen = simulate(desired, surge, unavailable)
    assert not frozen
    assert len(machines) == desired
    assert all(m.version == NEW and m.available for m in machines)


def test_interrupted_rollout_resumes_without_replacing_new_machines() -> None:
    machines, _, _ = simulate(10, 2, 0, start_new=6)
    assert len(machines) == 10
    assert sum(m.name.startswith("new-") for m in machines) == 6  # the six survived
    assert all(m.version == NEW for m in machines)


def test_broken_machines_freeze_the_rollout_and_old_ones_keep_serving() -> None:
    machines, _, frozen = simulate(10, 2, 0, never_ready=5)
    assert frozen
    old_serving = [m for m in machines if m.version == OLD and m.available]
    assert len(old_serving) == 10


@pytest.mark.parametrize(
    ("unready", "max_unhealthy", "problem"),
    [
        (0, 0, None),
        (1, 0, "refusing to start: 1 of 10 machines are not Ready (at most 0 allowed): old-0"),
        (3, "30%", None),
        (4, "30%", "refusing to start: 4 of 10 machines are not Ready (at most 30% allowed)"),
        (2, "25%", None),  # 2.5 rounds down to 2
        (3, "25%", "refusing to start: 3 of 10"),
        (2, 2, None),
    ],
)
def test_preflight(unready: int, max_unhealthy: IntOrPercent, problem: str | None) -> None:
    machines = [replace(m, ready=i >= unready) for i, m in enumerate(pool(10))]
    machines.append(Machine(name="gone", version=OLD, ready=False, deleting=True))  # not counted
    found = preflight_problem(machines, max_unhealthy=max_unhealthy)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(problem)


def test_scale_to_zero_is_refused_naming_the_fields_unless_allowed() -> None:
    problem = scale_to_zero_problem("spec.workers[0]", desired=0, machines=3, allowed=False)
    assert problem is not None
    assert "spec.workers[0].minimum is 0 while the pool has 3 machine(s)" in problem
    assert "spec.workers[0].allowScaleToZero: true" in problem
    assert scale_to_zero_problem("spec.workers[0]", desired=0, machines=3, allowed=True) is None
    assert scale_to_zero_problem("spec.workers[0]", desired=0, machines=0, allowed=False) is None
    assert scale_to_zero_problem("spec.workers[0]", desired=1, machines=3, allowed=False) is None


def _shoot(*versions: tuple[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": "dev", "resourceVersion": "41"},
        "spec": {
            "workers": [
                {
                    "name": n,
                    "minimum": 1,
                    "machine": {"type": "m", "image": {"name": "gl", "version": v}},
                }
                for n, v in versions
            ]
        },
    }


@pytest.mark.parametrize(
    ("pools", "pool", "version", "expected"),
    [
        ((("a", "1"), ("b", "1")), "a", "2", [("a", "2"), ("b", "1")]),  # only that pool
        ((("a", "1"),), "a", "1", None),  # already there: nothing to write
        ((("a", "1"),), "c", "2", None),  # no such pool: nothing to write
    ],
)
def test_image_version_patch(
    pools: tuple[tuple[str, str], ...],
    pool: str,
    version: str,
    expected: list[tuple[str, str]] | None,
) -> None:
    shoot = _shoot(*pools)
    patch = rollout.image_version_patch(shoot, pool, version)
    if expected is None:
        assert patch is None
        return
    assert patch is not None
    assert patch["metadata"] == {"resourceVersion": "41"}  # a compare-and-swap
    got = [(w["name"], w["machine"]["image"]["version"]) for w in patch["spec"]["workers"]]
    assert got == expected
    assert patch["spec"]["workers"][0]["machine"]["type"] == "m"  # the rest kept
    assert shoot == _shoot(*pools)  # the input is not changed
