"""Is a shoot ready? A pure reading of its status, shared by sensor and trigger."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_garden.core.status import (
    ConditionStatus,
    ConditionType,
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
    blocking = sorted(code.value for code in status.error_codes if not code.retryable)
    if blocking or (last is not None and last.state is OperationState.FAILED):
        what = f"{last.type} {last.state}: {last.description}" if last else "no operation"
        reason = f" [{', '.join(blocking)} cannot be fixed by retrying]" if blocking else ""
        return Health(Verdict.FAILED, what + reason)
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
