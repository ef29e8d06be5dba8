"""Is a shoot's backup due in a run's interval, and is the shoot in a state to back up."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_garden.core.backup_schedule import (
    Verdict,
    backup_decision,
    run_interval,
    schedule_decision,
)
from airflow_provider_garden.core.shoot_spec import Backup, SnapstoreKind, SnapstoreRef
from airflow_provider_garden.core.status import (
    LastBackup,
    LastOperation,
    OperationState,
    OperationType,
)

UTC = dt.UTC
HOUR = dt.timedelta(hours=1)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def hourly_run(end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The interval of the garden_backup run at ``end`` (runs at :15 cover the hour before)."""
    return end - HOUR, end


SIX_HOURLY = "0 */6 * * *"
FRESH = at(1, 6, 20)  # a backup newer than every tick the cases below look back to


@pytest.mark.parametrize(
    ("schedule", "run_end", "newest", "verdict"),
    [
        # hourly (the default): every hourly run has a tick in its interval
        ("0 * * * *", at(1, 7, 15), FRESH, Verdict.DUE),
        ("@hourly", at(1, 7, 15), FRESH, Verdict.DUE),
        # every six hours: only the run whose hour holds 00/06/12/18:00
        (SIX_HOURLY, at(1, 6, 15), FRESH, Verdict.DUE),
        (SIX_HOURLY, at(1, 7, 15), FRESH, Verdict.NOT_DUE),
        (SIX_HOURLY, at(1, 11, 15), FRESH, Verdict.NOT_DUE),
        (SIX_HOURLY, at(1, 12, 15), FRESH, Verdict.DUE),
        # a tick on the interval's end belongs to this run, one on its start to the last
        ("15 */6 * * *", at(1, 6, 15), FRESH, Verdict.DUE),
        ("15 */6 * * *", at(1, 7, 15), FRESH, Verdict.NOT_DUE),
        # the 06:00 tick passed without a backup since (the 06:15 run failed or was missed)
        (SIX_HOURLY, at(1, 7, 15), at(1, 5, 59), Verdict.DUE),
        (SIX_HOURLY, at(1, 9, 15), None, Verdict.DUE),  # never backed up
        (SIX_HOURLY, at(1, 7, 15), at(1, 6, 0), Verdict.NOT_DUE),  # the tick's own minute
        # daily at 02:00: one run a day, and the 03:15 run only when 02:15 failed
        ("0 2 * * *", at(2, 2, 15), at(1, 2, 16), Verdict.DUE),
        ("0 2 * * *", at(2, 3, 15), at(2, 2, 16), Verdict.NOT_DUE),
        ("0 2 * * *", at(2, 3, 15), at(1, 2, 16), Verdict.DUE),
    ],
)
def test_schedule_decision(
    schedule: str, run_end: dt.datetime, newest: dt.datetime | None, verdict: Verdict
) -> None:
    start, end = hourly_run(run_end)
    decision = schedule_decision(schedule, start=start, end=end, newest=newest)
    assert decision.verdict is verdict, decision.reason


def test_reasons_name_the_tick_or_the_next_one() -> None:
    start, end = hourly_run(at(1, 6, 15))
    assert (
        "2026-12-01T06:00Z"
        in schedule_decision(SIX_HOURLY, start=start, end=end, newest=FRESH).reason
    )
    start, end = hourly_run(at(1, 7, 15))
    not_due = schedule_decision(SIX_HOURLY, start=start, end=end, newest=FRESH)
    assert "next ticks at 2026-12-01T12:00Z" in not_due.reason
    missed = schedule_decision(SIX_HOURLY, start=start, end=end, newest=at(1, 5, 0))
    assert "tick 2026-12-01T06:00Z missed" in missed.reason
    assert "2026-12-01T05:00Z" in missed.reason


def test_offsets_and_pendulum_like_subclasses_are_read_as_utc() -> None:
    plus_one = dt.timezone(dt.timedelta(hours=1))
    start = dt.datetime(2026, 12, 1, 6, 15, tzinfo=plus_one)  # 05:15 UTC
    decision = schedule_decision(SIX_HOURLY, start=start, end=start + HOUR, newest=FRESH)
    assert decision.verdict is Verdict.DUE  # 06:00 UTC lies in (05:15, 06:15] UTC


def test_naive_or_backwards_intervals_are_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        schedule_decision(SIX_HOURLY, start=dt.datetime(2026, 12, 1), end=at(1, 1), newest=None)
    with pytest.raises(ValueError, match="ends before it starts"):
        schedule_decision(SIX_HOURLY, start=at(1, 2), end=at(1, 1), newest=None)


BACKUP = Backup(store=SnapstoreRef(kind=SnapstoreKind.LOCAL, prefix="p/s"))


def op(type_: OperationType, state: OperationState) -> LastOperation:
    return LastOperation(type=type_, state=state)


R, C, D, RS = (
    OperationType.RECONCILE,
    OperationType.CREATE,
    OperationType.DELETE,
    OperationType.RESTORE,
)
OK, ERR, FAIL, PROC = (
    OperationState.SUCCEEDED,
    OperationState.ERROR,
    OperationState.FAILED,
    OperationState.PROCESSING,
)


@pytest.mark.parametrize(
    ("backup", "last", "deleting", "verdict", "reason"),
    [
        (BACKUP, op(R, OK), False, Verdict.DUE, "ticked"),
        # broken or busy shoots are exactly when a backup matters
        (BACKUP, op(R, ERR), False, Verdict.DUE, "shoot is Reconcile Error"),
        (BACKUP, op(R, FAIL), False, Verdict.DUE, "shoot is Reconcile Failed"),
        (BACKUP, op(RS, ERR), False, Verdict.DUE, "shoot is Restore Error"),
        (BACKUP, op(R, PROC), False, Verdict.DUE, "shoot is Reconcile Processing"),
        (BACKUP, op(C, OK), False, Verdict.DUE, "ticked"),
        # nothing to keep yet, or going away
        (BACKUP, None, False, Verdict.SKIPPED, "being created (no operation yet)"),
        (BACKUP, op(C, PROC), False, Verdict.SKIPPED, "being created (Create Processing)"),
        (BACKUP, op(C, ERR), False, Verdict.SKIPPED, "being created (Create Error)"),
        (BACKUP, op(D, ERR), False, Verdict.SKIPPED, "being deleted"),
        (BACKUP, op(R, OK), True, Verdict.SKIPPED, "being deleted"),
        (None, op(R, OK), False, Verdict.SKIPPED, "no spec.backup"),
    ],
)
def test_backup_decision_by_state(
    backup: Backup | None,
    last: LastOperation | None,
    deleting: bool,
    verdict: Verdict,
    reason: str,
) -> None:
    start, end = hourly_run(at(1, 7, 15))
    newest = LastBackup(snapshot="Backup-x/Full-1", created=FRESH, verified=True)
    decision = backup_decision(backup, last, newest, deleting=deleting, start=start, end=end)
    assert decision.verdict is verdict
    assert reason in decision.reason


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (at(1, 6, 15), at(1, 7, 15), (at(1, 6, 15), at(1, 7, 15))),  # a scheduled run
        (None, None, (at(1, 8), at(1, 9))),  # triggered by hand, no logical date
        (at(1, 7, 15), at(1, 7, 15), (at(1, 6, 15), at(1, 7, 15))),  # zero-length interval
    ],
)
def test_run_interval(
    start: dt.datetime | None,
    end: dt.datetime | None,
    expected: tuple[dt.datetime, dt.datetime],
) -> None:
    assert run_interval(start, end, run_after=at(1, 9), period=HOUR) == expected
