"""Has an operator pod started, is it still starting, or will it never start?

Pure: takes what the pod's status and events say and how long it has waited, and
returns a verdict. Failing fast matters: a missing image or a missing Secret never
fixes itself, and a task that sits out its whole startup timeout on one hides the
reason behind "timed out". Image pull errors whose message says the registry is
only busy or down for a moment are waited out, like the cncf-kubernetes provider
does, and bounded by the startup timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

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
    #: the scheduler's message while the pod is unschedulable
    unschedulable: str = ""
    waiting: tuple[Waiting, ...] = ()
    #: messages of FailedMount events (a Secret or ConfigMap volume that cannot be mounted)
    mount_failures: tuple[str, ...] = ()


class Outcome(StrEnum):
    WAIT = "wait"
    STARTED = "started"
    FAILED = "failed"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str = ""


def startup_verdict(
    facts: StartupFacts,
    *,
    waited: float,
    scheduled_for: float | None,
    schedule_timeout: float,
    startup_timeout: float,
) -> Verdict:
    """Judge one look at a starting pod.

    :param waited: seconds since the pod was created (or found).
    :param scheduled_for: seconds since the pod was first seen scheduled; None if not yet.
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


def _transient(message: str) -> bool:
    lowered = message.lower()
    return any(hint in lowered for hint in TRANSIENT_PULL_HINTS)
