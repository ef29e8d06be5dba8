"""Rolling replacement of a worker pool's machines, planned one step at a time.

Like a Deployment (and machine-controller-manager's MachineDeployment), a rollout is
bounded by two fenceposts resolved against the desired machine count:

* at most ``desired + maxSurge`` machines exist at any time, counting machines that
  are still being deleted (they still hold their node);
* at least ``desired - maxUnavailable`` machines are Ready and schedulable
  (cordoned machines do not count: their pods are being evicted).

The caller observes the pool, asks :func:`plan_step` for the next actions, carries
them out (create machines; cordon, drain through the Eviction API, delete), waits,
and asks again. Because each step is computed from the observed pool alone, an
interrupted rollout resumes where it stopped: machines already on the target
version stay, and machines already cordoned carry on draining.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from . import intstr

CREATION_TIMEOUT = dt.timedelta(minutes=20)


def resolve_fenceposts(
    max_surge: intstr.IntOrPercent, max_unavailable: intstr.IntOrPercent, desired: int
) -> tuple[int, int]:
    """(surge, unavailable) exactly like Kubernetes' ``deploymentutil.ResolveFenceposts``.

    Surge rounds percentages up, unavailable rounds down. If both resolve to 0
    (e.g. ``maxUnavailable: 25%`` of 3 with ``maxSurge: 0``) unavailable becomes 1,
    on Kubernetes' theory that surging may be impossible (quota) while replacing
    one at a time always makes progress. Literal zeros for both are rejected by
    spec validation, so that fallback only catches rounding.
    """
    if desired < 0:
        raise ValueError(f"desired must be >= 0, got {desired}")
    surge = intstr.scaled(intstr.check(max_surge), desired, round_up=True)
    unavailable = intstr.scaled(intstr.check(max_unavailable), desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def should_freeze(failed: int, *, threshold: int) -> bool:
    """Whether ``failed`` machines (that never became Ready) reach the freeze threshold."""
    if threshold < 1:
        raise ValueError(f"threshold must be >= 1, got {threshold}")
    return failed >= threshold


@dataclass(frozen=True, kw_only=True)
class Machine:
    name: str
    version: str
    ready: bool
    cordoned: bool = False
    deleting: bool = False
    created: dt.datetime | None = None

    @property
    def available(self) -> bool:
        return self.ready and not self.cordoned and not self.deleting


def preflight_problem(
    machines: Sequence[Machine], *, max_unhealthy: intstr.IntOrPercent
) -> str | None:
    """Why a rollout must not start because too many machines are not Ready, or None.

    ``max_unhealthy`` is a count or a percentage of the live machines (rounded down):
    replacing machines in a pool that is already failing would only add risk.
    """
    live = [m for m in machines if not m.deleting]
    unhealthy = sorted(m.name for m in live if not m.ready)
    limit = intstr.scaled(intstr.check(max_unhealthy), len(live), round_up=False)
    if len(unhealthy) <= limit:
        return None
    return (
        f"refusing to start: {len(unhealthy)} of {len(live)} machines are not Ready "
        f"(at most {max_unhealthy} allowed): {', '.join(unhealthy)}"
    )


def scale_to_zero_problem(
    pool_path: str, *, desired: int, machines: int, allowed: bool
) -> str | None:
    """Why a rollout toward ``desired`` = 0 must not remove ``machines`` machines, or None.

    A pool at minimum 0 is most often a typo or a half-finished edit; removing every
    machine of it evicts every workload there. It takes ``allowScaleToZero: true``.
    """
    if desired > 0 or machines == 0 or allowed:
        return None
    return (
        f"refusing to start: {pool_path}.minimum is 0 while the pool has {machines} "
        f"machine(s): the rollout would remove them all. Set "
        f"{pool_path}.allowScaleToZero: true to allow it"
    )


@dataclass(frozen=True, kw_only=True)
class RolloutStep:
    """What to do next. ``drain``: cordon, evict, then delete; ``delete``: delete at once."""

    target_version: str
    desired: int
    surge: int
    unavailable: int
    create: int = 0
    drain: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    updated: int = 0
    frozen: bool = False
    done: bool = False
    waiting_for: str = ""

    @property
    def summary(self) -> str:
        """Progress in human terms, e.g. ``3/10 machines on 1592.4``."""
        return f"{self.updated}/{self.desired} machines on {self.target_version}"


def plan_step(
    machines: Sequence[Machine],
    *,
    desired: int,
    target_version: str,
    max_surge: intstr.IntOrPercent,
    max_unavailable: intstr.IntOrPercent,
    now: dt.datetime,
    creation_timeout: dt.timedelta = CREATION_TIMEOUT,
    failed_before: Sequence[str] = (),
    freeze_after: int = 3,
) -> RolloutStep:
    """The next actions that move the pool toward ``desired`` machines on ``target_version``.

    A new machine not Ready within ``creation_timeout`` has failed: it is deleted
    without draining (it never ran pods) and replaced. ``failed_before`` carries the
    failures of earlier steps (the caller keeps them in the Shoot status); once
    ``freeze_after`` machines have failed the rollout freezes: no action at all, so
    the old machines keep serving, and ``failed`` names the culprits.
    """
    if len({m.name for m in machines}) != len(machines):
        raise ValueError("machine names must be unique")
    surge, unavailable = resolve_fenceposts(max_surge, max_unavailable, desired)
    live = [m for m in machines if not m.deleting]
    new = [m for m in live if m.version == target_version]
    old = [m for m in live if m.version != target_version]
    failed_now = [m for m in new if not m.ready and _older_than(m, now, creation_timeout)]
    failed = tuple(dict.fromkeys([*failed_before, *(m.name for m in failed_now)]))
    base = RolloutStep(
        target_version=target_version,
        desired=desired,
        surge=surge,
        unavailable=unavailable,
        failed=failed,
        updated=sum(m.available for m in new),
    )
    if should_freeze(len(failed), threshold=freeze_after):
        return replace(
            base,
            frozen=True,
            waiting_for=f"frozen: {len(failed)} machine(s) never became Ready: {', '.join(failed)}",
        )
    new = [m for m in new if m not in failed_now]
    min_ready = max(0, desired - unavailable)
    create = max(0, min(desired + surge - len(machines), desired - len(new)))
    drain = _scale_down(old, new, live, desired, min_ready)
    done = not old and len(machines) == len(new) == desired and all(m.available for m in new)
    step = replace(
        base,
        create=create,
        drain=tuple(m.name for m in drain),
        delete=tuple(m.name for m in failed_now),
        done=done,
    )
    if done or create or step.drain or step.delete:
        return step
    return replace(step, waiting_for=_waiting(machines, new, old))


def _scale_down(
    old: list[Machine], new: list[Machine], live: list[Machine], desired: int, min_ready: int
) -> list[Machine]:
    """Old machines to drain now (or surplus new ones once no old ones remain)."""
    # Already cordoned: a drain in progress (maybe interrupted); it costs no more
    # availability to finish it.
    chosen = [m for m in old if m.cordoned]
    # Unhealthy old machines do not serve, so removing them costs no availability;
    # like Deployment's cleanupUnhealthyReplicas it is bounded so that capacity which
    # may still recover is not thrown away while new machines are not yet available.
    new_unavailable = sum(not m.available for m in new)
    cleanup = len(live) - len(chosen) - min_ready - new_unavailable
    unhealthy = [m for m in old if not m.ready and not m.cordoned]
    chosen += unhealthy[: max(0, cleanup)]
    budget = sum(m.available for m in live) - min_ready
    if old:
        candidates = [m for m in old if m.available]
    else:
        # Desired shrank or an earlier step over-created: drop the surplus, unready first.
        surplus = len(new) - desired
        candidates = sorted(new, key=lambda m: m.available)[: max(0, surplus)]
        chosen += [m for m in candidates if not m.available]
        candidates = [m for m in candidates if m.available]
    return chosen + sorted(candidates, key=lambda m: m.name)[: max(0, budget)]


def _waiting(machines: Sequence[Machine], new: list[Machine], old: list[Machine]) -> str:
    parts = []
    if booting := sum(not m.ready for m in new):
        parts.append(f"{booting} new machine(s) to become Ready")
    if deleting := sum(m.deleting for m in machines):
        parts.append(f"{deleting} machine(s) to finish deleting")
    if old:
        parts.append(f"room to replace {len(old)} old machine(s) within maxUnavailable")
    return "waiting for " + (", ".join(parts) or "machines to settle")


def _older_than(machine: Machine, now: dt.datetime, limit: dt.timedelta) -> bool:
    return machine.created is not None and now - machine.created >= limit


def image_version_patch(shoot: Mapping[str, Any], pool: str, version: str) -> dict[str, Any] | None:
    """The merge patch that sets ``pool``'s machine image version in a Shoot, or None when
    the spec already names it. It carries the Shoot's resourceVersion, so the write is a
    compare-and-swap: an edit made since ``shoot`` was read fails it (409) instead of being
    overwritten. ``spec.workers`` is a list: a merge patch replaces it whole."""
    workers = [dict(w) for w in (shoot.get("spec") or {}).get("workers") or []]
    changed = False
    for i, worker in enumerate(workers):
        image = dict((worker.get("machine") or {}).get("image") or {})
        if worker.get("name") == pool and image.get("version") != version:
            workers[i] = {
                **worker,
                "machine": {**worker["machine"], "image": {**image, "version": version}},
            }
            changed = True
    if not changed:
        return None
    return {
        "metadata": {"resourceVersion": shoot["metadata"]["resourceVersion"]},
        "spec": {"workers": workers},
    }
