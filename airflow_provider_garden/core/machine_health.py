"""Which unhealthy machines of a pool to replace now, and which replaced ones to retire.

Machine-controller-manager's health check, planned from one observation of the pool:

* a machine is unhealthy once its node has not been Ready (NotReady, Unknown, or
  no Ready condition at all since it was created) for ``timeout``;
* an unhealthy machine is replaced, never just deleted: a replacement is created
  first (it carries the name of the machine it replaces), and only once it is
  Ready is the old one drained and deleted, so the pool never loses a Ready
  machine to a replacement;
* meltdown protection: at most ``maxUnavailable + 1`` replacements are in flight
  (created, their old machine not yet gone). When a whole zone or the network
  fails every machine turns NotReady at once; replacing them all at once would
  only multiply the damage, so they are replaced a few at a time, oldest first;
* a replacement not Ready within ``creation_timeout`` has failed: it is deleted
  (it never ran pods) and nothing more is replaced in that pool;
* a pool with fewer machines than ``desired`` (its minimum: a machine vanished, its
  VM deleted under us) is refilled, as machine-controller-manager keeps a
  MachineDeployment at its replicas: new machines are created, never any deleted.
  A refill is in flight while it boots (not Ready, younger than
  ``creation_timeout``) and shares the ``maxUnavailable + 1`` budget with the
  replacements; refills go first (capacity that is gone will not come back, a
  NotReady node may). A refill that never boots is an unhealthy machine like any
  other: replaced once its ``timeout`` passes.

Machines being deleted or cordoned (a rollout drains them) are left alone. A shoot
being deleted is not healed at all (:func:`hands_off`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import intstr
from .status import OperationType, ShootStatus


@dataclass(frozen=True, kw_only=True)
class Machine:
    name: str
    ready: bool
    # lastTransitionTime of the node's Ready condition; None: no condition yet.
    ready_changed: dt.datetime | None = None
    created: dt.datetime | None = None
    cordoned: bool = False
    deleting: bool = False
    replaces: str = ""  # the unhealthy machine this one was created to replace
    refill: bool = False  # created to refill its pool up to its minimum


def unhealthy_since(machine: Machine) -> dt.datetime | None:
    """Since when the machine has not been Ready; None when it is Ready (or leaving)."""
    if machine.ready or machine.deleting:
        return None
    return machine.ready_changed or machine.created


def is_unhealthy(machine: Machine, *, now: dt.datetime, timeout: dt.timedelta) -> bool:
    since = unhealthy_since(machine)
    return since is not None and now - since >= timeout


def max_in_flight(max_unavailable: intstr.IntOrPercent, desired: int) -> int:
    """``maxUnavailable + 1``, a percentage resolved against ``desired`` rounded down."""
    return intstr.scaled(intstr.check(max_unavailable), desired, round_up=False) + 1


def hands_off(shoot: Mapping[str, Any]) -> str:
    """Why the Shoot resource's machines must not be healed now ("" when they may be).

    A delete removes the pools first: one that failed half-way (``lastOperation`` a
    Delete) leaves pools below their minimum that must stay so.
    """
    if (shoot.get("metadata") or {}).get("deletionTimestamp"):
        return "the shoot is being deleted"
    last = ShootStatus.from_shoot(shoot).last_operation
    if last is not None and last.type is OperationType.DELETE:
        return f"the shoot's last operation is a Delete ({last.state}): nothing is healed"
    return ""


def is_booting_refill(
    machine: Machine, *, now: dt.datetime, creation_timeout: dt.timedelta
) -> bool:
    """A refill not Ready yet and still inside its creation timeout: in flight."""
    if not machine.refill or machine.ready or machine.deleting:
        return False
    return machine.created is None or now - machine.created < creation_timeout


@dataclass(frozen=True, kw_only=True)
class HealthPlan:
    replace: tuple[str, ...] = ()  # unhealthy machines to create a replacement for now
    retire: tuple[str, ...] = ()  # old machines whose replacement is Ready: drain, delete
    failed: tuple[str, ...] = ()  # replacements never Ready: delete them, replace no more
    waiting: tuple[str, ...] = ()  # unhealthy machines held back by meltdown protection
    refill: int = 0  # machines to create now for a pool below its minimum
    missing: int = 0  # machines the pool lacked before this plan (booting refills count)
    machines: int = 0  # the pool's machines as counted for its minimum
    # replacements whose old machine still exists and booting refills, after this plan
    in_flight: int = 0
    limit: int = 1

    @property
    def idle(self) -> bool:
        """Nothing to do now and nothing in flight: the pool is healthy (or frozen)."""
        return not (self.replace or self.retire or self.failed or self.refill or self.in_flight)


def plan(
    machines: Sequence[Machine],
    *,
    timeout: dt.timedelta,
    creation_timeout: dt.timedelta,
    max_unavailable: intstr.IntOrPercent,
    desired: int,
    now: dt.datetime,
    exclude: Collection[str] = (),
) -> HealthPlan:
    """The next health actions of one pool (see the module text for the rules).

    ``desired``: the pool's minimum (what it is refilled to; percentages resolve
    against it). ``exclude``: unhealthy machines not to replace (the caller found
    that their drain would lose pods); they take no room from the others.
    """
    if len({m.name for m in machines}) != len(machines):
        raise ValueError("machine names must be unique")
    limit = max_in_flight(max_unavailable, desired)
    by_name = {m.name: m for m in machines}
    # A replacement is in flight while the machine it replaces still exists.
    replacements = {m.replaces: m for m in machines if m.replaces in by_name and not m.deleting}
    failed = sorted(
        r.name
        for r in replacements.values()
        if not r.ready and r.created is not None and now - r.created >= creation_timeout
    )
    retire = sorted(old for old, r in replacements.items() if r.ready and not by_name[old].deleting)
    booting = {
        m.name for m in machines if is_booting_refill(m, now=now, creation_timeout=creation_timeout)
    }
    # A machine and its replacement count once: the old one goes when the new is Ready.
    counted = sum(not m.deleting for m in machines) - sum(
        not by_name[old].deleting for old in replacements
    )
    missing = max(0, desired - counted)
    in_flight = len(replacements) + len(booting)
    if failed:
        return HealthPlan(
            failed=tuple(failed),
            retire=tuple(retire),
            missing=missing,
            machines=counted,
            in_flight=in_flight,
            limit=limit,
        )
    in_replacement = set(replacements) | {r.name for r in replacements.values()} | booting
    candidates = sorted(
        (
            m
            for m in machines
            if m.name not in in_replacement
            and m.name not in exclude
            and not m.cordoned
            and is_unhealthy(m, now=now, timeout=timeout)
        ),
        key=lambda m: (unhealthy_since(m) or now, m.name),
    )
    room = max(0, limit - in_flight)
    refill = min(missing, room)
    room -= refill
    chosen = tuple(m.name for m in candidates[:room])
    return HealthPlan(
        replace=chosen,
        retire=tuple(retire),
        waiting=tuple(m.name for m in candidates[room:]),
        refill=refill,
        missing=missing,
        machines=counted,
        in_flight=in_flight + refill + len(chosen),
        limit=limit,
    )
