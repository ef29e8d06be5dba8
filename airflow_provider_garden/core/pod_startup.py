"""Has an operator pod started, is it still starting, or will it never start?

Pure: takes what the pod's status and events say and how long it has waited, and
returns a verdict. Failing fast matters: a missing image or a missing Secret never
fixes itself, and a task that sits out its whole startup timeout on one hides the
reason behind "timed out". Image pull errors whose message says the registry is
only busy or down for a moment are waited out, like the cncf-kubernetes provider
does, and bounded by the startup timeout. A pod the scheduler has no room for
(`error_codes.capacity_problem`'s rule) fails with its known cause, the seed's
capacity, once it stayed so for a grace period: the seed's scheduler retries it
when room appears, so a pod queued during a busy moment is only waited for.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from airflow_provider_garden.core.error_codes import (
    CAPACITY_GRACE,
    Cause,
    PodScheduling,
    capacity_problem,
)

# Waiting reasons that no amount of waiting fixes.
FATAL_WAITING = frozenset(
    {"ErrImageNeverPull", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError"}
)
PULL_WAITING = frozenset({"ErrImagePull", "ImagePullBackOff"})
# Pull errors worth waiting out (the same list as the cncf-kubernetes provider's).
TRANSIENT_PULL_HINTS = (
    "pull qps exceeded",
    "rate limit",
    "too many requests",
    "quota exceeded",
    "temporarily unavailable",
    "timeout",
    "account limit",
    "bad gateway",
    "service unavailable",
    "gateway timeout",
)
STARTING_PHASES = frozenset({"Pending", "Unknown"})


@dataclass(frozen=True)
class Waiting:
    """A container that has not started, and why."""

    container: str
    reason: str
    message: str = ""


@dataclass(frozen=True)
class StartupFacts:
    phase: str
    scheduled: bool
    #: the scheduler's message while the pod is unschedulable (empty while it is not)
    unschedulable: str = ""
    waiting: tuple[Waiting, ...] = ()
    #: messages of FailedMount events (a Secret or ConfigMap volume that cannot be mounted)
    mount_failures: tuple[str, ...] = ()
    #: ``namespace/name``, as a failure names the pod
    pod: str = ""
    #: messages of the scheduler's FailedScheduling events, oldest first
    scheduling_failures: tuple[str, ...] = ()


class Outcome(StrEnum):
    WAIT = "wait"
    STARTED = "started"
    FAILED = "failed"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str = ""
    #: the established cause of a failure that has one (its error code: `error_codes.CODES`)
    cause: Cause | None = None


def startup_verdict(
    facts: StartupFacts,
    *,
    waited: float,
    scheduled_for: float | None,
    schedule_timeout: float,
    startup_timeout: float,
    unschedulable_for: float | None = None,
    capacity_grace: float = CAPACITY_GRACE.total_seconds(),
) -> Verdict:
    """Judge one look at a starting pod.

    :param waited: seconds since the pod was created (or found).
    :param scheduled_for: seconds since the pod was first seen scheduled; None if not yet.
    :param unschedulable_for: seconds since the pod was first seen unschedulable, this
        time round; None while it is not.
    :param capacity_grace: how long a pod may stay unschedulable for lack of room.
    """
    if facts.phase not in STARTING_PHASES:
        return Verdict(Outcome.STARTED)
    for w in facts.waiting:
        if w.reason in FATAL_WAITING or (w.reason in PULL_WAITING and not _transient(w.message)):
            return Verdict(Outcome.FAILED, f"container {w.container}: {w.reason}: {w.message}")
    for message in facts.mount_failures:
        if "not found" in message:
            return Verdict(Outcome.FAILED, f"a volume cannot be mounted: {message}")
    if not facts.scheduled:
        # At the schedule timeout a lack of room is named as such, however short its grace.
        no_room = _no_room(
            facts, unschedulable_for, capacity_grace if waited < schedule_timeout else 0.0
        )
        if no_room is not None:
            return no_room
        if waited >= schedule_timeout:
            why = facts.unschedulable or "no node was chosen"
            return Verdict(Outcome.FAILED, f"not scheduled within {schedule_timeout:.0f}s: {why}")
        return Verdict(Outcome.WAIT)
    if scheduled_for is not None and scheduled_for >= startup_timeout:
        still = "; ".join(f"{w.container}: {w.reason} {w.message}".strip() for w in facts.waiting)
        return Verdict(
            Outcome.FAILED,
            f"not started within {startup_timeout:.0f}s of being scheduled"
            + (f" ({still})" if still else ""),
        )
    return Verdict(Outcome.WAIT)


def _no_room(facts: StartupFacts, unschedulable_for: float | None, grace: float) -> Verdict | None:
    if not facts.unschedulable or unschedulable_for is None:
        return None
    seen = PodScheduling(
        pod=facts.pod or "(unnamed)",
        unschedulable=True,
        message=facts.unschedulable,
        events=facts.scheduling_failures,
        unschedulable_for=dt.timedelta(seconds=unschedulable_for),
    )
    problem = capacity_problem([seen], grace=dt.timedelta(seconds=grace))
    if problem is None:
        return None
    return Verdict(Outcome.FAILED, str(problem), cause=problem.cause)


def _transient(message: str) -> bool:
    lowered = message.lower()
    return any(hint in lowered for hint in TRANSIENT_PULL_HINTS)
