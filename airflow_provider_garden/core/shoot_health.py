"""Is a shoot ready? A pure reading of its status, shared by sensor and trigger."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_garden.core.status import (
    ConditionStatus,
    ConditionType,
    LastError,
    LastOperation,
    OperationState,
    ShootStatus,
    StatusError,
)

# The shoot is ready when each of these is True (Gardener's shoot conditions).
REQUIRED_CONDITIONS = (
    ConditionType.API_SERVER_AVAILABLE,
    ConditionType.CONTROL_PLANE_HEALTHY,
    ConditionType.EVERY_NODE_READY,
    ConditionType.SYSTEM_COMPONENTS_HEALTHY,
)


class Verdict(enum.StrEnum):
    READY = "ready"
    WAITING = "waiting"
    FAILED = "failed"  # will not become ready without a change by a person


@dataclass(frozen=True)
class Health:
    verdict: Verdict
    message: str


def shoot_health(shoot: Mapping[str, Any] | None) -> Health:
    if shoot is None:
        return Health(Verdict.WAITING, "the Shoot does not exist (yet)")
    try:
        status = ShootStatus.from_shoot(shoot)
    except StatusError as err:
        return Health(Verdict.FAILED, f"unreadable status: {err}")
    last = status.last_operation
    generation = (shoot.get("metadata") or {}).get("generation")
    # While an operation runs, lastErrors are its predecessor's: the new run may fix them.
    running = last is not None and last.state is OperationState.PROCESSING
    blocking = [] if running else [e for e in status.last_errors if not e.retryable]
    if blocking:
        return Health(Verdict.FAILED, _blocking_message(blocking, last))
    if last is not None and last.state is OperationState.FAILED:
        return Health(Verdict.FAILED, f"{last.type} {last.state}: {last.description}")
    if last is None or not last.succeeded:
        doing = f"{last.type} {last.state} ({last.progress}%)" if last else "? not started (0%)"
        return Health(Verdict.WAITING, doing)
    if generation is not None and status.observed_generation != generation:
        return Health(Verdict.WAITING, "the latest spec is not reconciled yet")
    not_true = [
        t.value
        for t in REQUIRED_CONDITIONS
        if (c := status.condition(t)) is None or c.status is not ConditionStatus.TRUE
    ]
    if not_true:
        return Health(Verdict.WAITING, f"conditions not True: {', '.join(not_true)}")
    return Health(Verdict.READY, "lastOperation Succeeded and every condition True")


def _blocking_message(errors: Sequence[LastError], last: LastOperation | None) -> str:
    """Each non-retryable error: its codes first, the task, then what it says."""
    what = f"{last.type} {last.state}" if last else "the last operation"
    lines = [
        f"{', '.join(c.value for c in e.codes if not c.retryable)}"
        + (f" in task {e.task_id!r}" if e.task_id else "")
        + f": {e.description}"
        for e in errors
    ]
    return f"{what}, retrying cannot fix it: " + "; ".join(lines)


def backup_health(
    shoot: Mapping[str, Any] | None, *, now: dt.datetime, max_age: dt.timedelta
) -> Health:
    """Is the newest good backup (``status.lastBackup``) younger than ``max_age``?"""
    if shoot is None:
        return Health(Verdict.WAITING, "the Shoot does not exist (yet)")
    try:
        last = ShootStatus.from_shoot(shoot).last_backup
    except StatusError as err:
        return Health(Verdict.FAILED, f"unreadable status: {err}")
    if last is None or not last.verified or last.created is None:
        return Health(Verdict.WAITING, "no verified backup recorded yet")
    age = now - last.created
    if age > max_age:
        return Health(
            Verdict.WAITING, f"newest good backup {last.snapshot} is {age} old (> {max_age})"
        )
    return Health(Verdict.READY, f"newest good backup {last.snapshot} is {age} old")
