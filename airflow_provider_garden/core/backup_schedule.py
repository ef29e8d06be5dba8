"""Whether one ``garden_backup`` run backs up a shoot: a pure decision, ``now`` passed in.

A shoot with ``spec.backup`` is due when its schedule (cron, UTC) has a tick in the
run's interval ``(start, end]``, or when an earlier tick passed without a verified
backup since (a missed run or a failed backup is made up by the next run, so no tick
is lost for good). Its state does not matter: a failed reconcile, a frozen rollout or
a failed restore is exactly when a backup matters. Only a shoot being created (no
data yet) or deleted is skipped, and the decision says why.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from airflow_provider_garden.core.shoot_spec import Backup
from airflow_provider_garden.core.status import (
    LastBackup,
    LastOperation,
    OperationState,
    OperationType,
)


class Verdict(enum.StrEnum):
    DUE = "due"
    NOT_DUE = "not due"
    SKIPPED = "skipped"


@dataclass(frozen=True, kw_only=True)
class BackupDecision:
    verdict: Verdict
    reason: str

    @property
    def due(self) -> bool:
        return self.verdict is Verdict.DUE


def backup_decision(
    backup: Backup | None,
    last_operation: LastOperation | None,
    last_backup: LastBackup | None,
    *,
    deleting: bool,
    start: dt.datetime,
    end: dt.datetime,
) -> BackupDecision:
    """What a run over ``(start, end]`` does with one shoot."""
    if backup is None:
        return BackupDecision(verdict=Verdict.SKIPPED, reason="no spec.backup")
    if deleting or (last_operation is not None and last_operation.type is OperationType.DELETE):
        return BackupDecision(verdict=Verdict.SKIPPED, reason="being deleted")
    if last_operation is None:
        return BackupDecision(verdict=Verdict.SKIPPED, reason="being created (no operation yet)")
    if last_operation.type is OperationType.CREATE and not last_operation.succeeded:
        return BackupDecision(
            verdict=Verdict.SKIPPED, reason=f"being created (Create {last_operation.state})"
        )
    decision = schedule_decision(
        backup.schedule,
        start=start,
        end=end,
        newest=last_backup.created if last_backup else None,
    )
    if decision.due and last_operation.state is not OperationState.SUCCEEDED:
        state = f"{last_operation.type} {last_operation.state}"
        return BackupDecision(verdict=Verdict.DUE, reason=f"{decision.reason}; shoot is {state}")
    return decision


def schedule_decision(
    schedule: str, *, start: dt.datetime, end: dt.datetime, newest: dt.datetime | None
) -> BackupDecision:
    """Due when ``schedule`` ticks in ``(start, end]`` or a tick up to ``start`` has no
    verified backup (``newest``) at or after it."""
    # Imported here: croniter comes with Airflow, and the toolbox image (no Airflow, which
    # imports every core module when it is built) never evaluates a schedule.
    from croniter import croniter

    start, end = _utc(start, "start"), _utc(end, "end")
    if end < start:
        raise ValueError(f"interval ({start}, {end}] ends before it starts")
    tick = _utc(croniter(schedule, start).get_next(dt.datetime), "tick")
    if tick <= end:
        return BackupDecision(verdict=Verdict.DUE, reason=f"{schedule!r} ticked at {_t(tick)}")
    # The newest tick at or before `start` (croniter counts from the minute after).
    missed = _utc(croniter(schedule, start + dt.timedelta(seconds=1)).get_prev(dt.datetime), "tick")
    if newest is None:
        return BackupDecision(verdict=Verdict.DUE, reason="no verified backup yet")
    newest = _utc(newest, "newest backup")
    if newest < missed:
        return BackupDecision(
            verdict=Verdict.DUE,
            reason=f"tick {_t(missed)} missed: newest verified backup is from {_t(newest)}",
        )
    return BackupDecision(verdict=Verdict.NOT_DUE, reason=f"{schedule!r} next ticks at {_t(tick)}")


def run_interval(
    start: dt.datetime | None,
    end: dt.datetime | None,
    *,
    run_after: dt.datetime,
    period: dt.timedelta,
) -> tuple[dt.datetime, dt.datetime]:
    """The interval a run judges schedules over: its data interval, or for a run without
    one (triggered by hand, or a zero-length interval) the ``period`` before it."""
    end = end or run_after
    if start is None or start >= end:
        start = end - period
    return _utc(start, "interval start"), _utc(end, "interval end")


def _utc(value: dt.datetime, what: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} {value!r} has no time zone; pass an aware datetime")
    # A plain datetime even when handed a subclass (Airflow passes pendulum's).
    return dt.datetime.fromtimestamp(value.timestamp(), dt.UTC)


def _t(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%MZ")
