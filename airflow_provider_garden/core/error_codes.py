"""Which error codes a failed operation carries, from what the agent found out.

The agent gathers evidence at the edge (a pod the scheduler cannot place, a Secret
that is not there, a store that does not answer) and raises :class:`KnownCause`;
everything here is pure: the cause -> code table, reading an exception (and what
caused it) into codes, the state an operation ends in, and the judgement whether
a pending pod is out of seed capacity.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .flow import PermanentError
from .spec_fields import SpecError
from .status import ErrorCode, LastError, OperationState


class Cause(enum.StrEnum):
    """What the agent established about a failure (its evidence is in the message)."""

    INVALID_SPEC = "InvalidSpec"  # a rule broken, an unoffered version, a missing Secret
    SEED_CAPACITY = "SeedCapacity"  # a control-plane pod the scheduler has no room for
    SNAPSTORE_UNREACHABLE = "SnapstoreUnreachable"
    SNAPSTORE_FULL = "SnapstoreFull"  # a local store without room for the next snapshot
    ETCD_DATA_LOST = "EtcdDataLost"  # etcd's init step refused its data directory
    PROJECT_QUOTA = "ProjectQuota"  # the spec would take its project past its quota


CODES: dict[Cause, ErrorCode] = {
    Cause.INVALID_SPEC: ErrorCode.CONFIGURATION_PROBLEM,
    Cause.SEED_CAPACITY: ErrorCode.INFRA_QUOTA_EXCEEDED,
    Cause.SNAPSTORE_UNREACHABLE: ErrorCode.INFRA_DEPENDENCIES,
    Cause.SNAPSTORE_FULL: ErrorCode.INFRA_QUOTA_EXCEEDED,  # its owner must resize or retain less
    Cause.ETCD_DATA_LOST: ErrorCode.ETCD_DATA_LOST,
    Cause.PROJECT_QUOTA: ErrorCode.INFRA_QUOTA_EXCEEDED,
}
# A failure nobody explained (a wait that timed out, the API answering 500): the next
# run may well succeed.
UNEXPLAINED = ErrorCode.RETRYABLE_INFRA_DEPENDENCIES


class KnownCause(PermanentError):
    """A failure whose cause is established; a flow does not retry it (waiting won't help)."""

    def __init__(self, cause: Cause, message: str) -> None:
        super().__init__(message)
        self.cause = cause


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def codes_for(error: BaseException) -> tuple[ErrorCode, ...]:
    """The codes of ``error``: from the first known cause in its chain, else retryable."""
    for e in _chain(error):
        if isinstance(e, KnownCause):
            return (CODES[e.cause],)
        if isinstance(e, SpecError):
            return (ErrorCode.CONFIGURATION_PROBLEM,)
    return (UNEXPLAINED,)


# How an agent verb that does not report to the Shoot itself ends on a known cause: one
# line, its code and its message, the last of the pod's output (no traceback after it).
_KNOWN_LINE = re.compile(r"^(ERR_[A-Z_]+): (.+)$", re.MULTILINE)


def known_line(error: KnownCause) -> str:
    """The line an agent verb exits with on a known cause (see :func:`known_failure`)."""
    return f"{CODES[error.cause]}: {error}"


def known_failure(output: str) -> str | None:
    """The last known-cause line in a pod's output (``ERR_...: message``), or None."""
    found = _KNOWN_LINE.findall(output)
    return f"{found[-1][0]}: {found[-1][1]}" if found else None


def last_errors(failed: Sequence[tuple[str, BaseException]]) -> tuple[LastError, ...]:
    """One ``lastErrors`` entry per failed task: its own error's message and codes."""
    return tuple(
        LastError(description=str(error), codes=codes_for(error), task_id=task)
        for task, error in failed
    )


def ended_state(errors: Sequence[LastError]) -> OperationState:
    """Failed when a code says retrying cannot help (Gardener's rule), else Error."""
    if any(not e.retryable for e in errors):
        return OperationState.FAILED
    return OperationState.ERROR


# --- seed capacity -------------------------------------------------------------------

# The scheduler's words for "no node has room" (resources or pod slots), as opposed to
# reasons that pass by themselves (a volume still binding) or need other fixes.
_NO_ROOM = re.compile(r"Insufficient [\w./-]+|Too many pods")
# How long a pod must have been unplaceable, by the waiter's own clock, before it counts:
# pods that are terminating still hold their requests for their grace period.
CAPACITY_GRACE = dt.timedelta(seconds=15)


@dataclass(frozen=True, kw_only=True)
class PodScheduling:
    """What the seed says about placing one pod, and for how long it was observed unplaced.

    :param pod: ``namespace/name``.
    :param unschedulable: ``PodScheduled`` is False with reason ``Unschedulable``.
    :param message: that condition's message.
    :param events: messages of the pod's ``FailedScheduling`` events, oldest first.
    :param unschedulable_for: since the waiter first saw it unschedulable (zero if not).
    """

    pod: str
    unschedulable: bool
    message: str = ""
    events: tuple[str, ...] = ()
    unschedulable_for: dt.timedelta = dt.timedelta(0)


def capacity_problem(
    pods: Sequence[PodScheduling], *, grace: dt.timedelta = CAPACITY_GRACE
) -> KnownCause | None:
    """Seed out of capacity: a pod unschedulable for lack of room for at least ``grace``.

    The reason quoted is the newest FailedScheduling event's (the condition's message
    when there is no event): it names what is insufficient on how many nodes.
    """
    for p in pods:
        if not p.unschedulable or p.unschedulable_for < grace:
            continue
        reason = next((m for m in reversed(p.events) if _NO_ROOM.search(m)), None)
        if reason is None and _NO_ROOM.search(p.message):
            reason = p.message
        if reason is not None:
            seconds = int(p.unschedulable_for.total_seconds())
            return KnownCause(
                Cause.SEED_CAPACITY,
                f"pod {p.pod} cannot be scheduled (for {seconds}s): {reason}",
            )
    return None
