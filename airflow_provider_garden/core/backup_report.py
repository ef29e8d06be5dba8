"""What one ``garden_backup`` run did with each shoot, in words a person reads.

Every shoot of the fleet gets one line: backed up, not due, skipped (why) or failed
(why). "Backed up" is judged from the Shoot itself: its ``status.lastBackup`` names a
different verified snapshot than when the run planned, so a task that claimed success
without recording a snapshot still reads as failed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_garden.core.backup_plan import UNREADABLE, PlannedShoot
from airflow_provider_garden.core.backup_schedule import Verdict
from airflow_provider_garden.core.naming import shoot_key
from airflow_provider_garden.core.status import LastBackup, ShootStatus, StatusError


class Outcome(enum.StrEnum):
    BACKED_UP = "backed up"
    NOT_DUE = "not due"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True, kw_only=True)
class ShootOutcome:
    shoot: str  # <project>/<name>
    outcome: Outcome
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"shoot": self.shoot, "outcome": self.outcome.value, "reason": self.reason}


def backups_by_shoot(shoots: Iterable[Mapping[str, Any]]) -> dict[str, LastBackup | None]:
    """Each Shoot's ``status.lastBackup`` (None when absent or unreadable: the plan
    already reported an unreadable status)."""
    result: dict[str, LastBackup | None] = {}
    for shoot in shoots:
        try:
            result[shoot_key(shoot)] = ShootStatus.from_shoot(shoot).last_backup
        except StatusError:
            result[shoot_key(shoot)] = None
    return result


def outcome_of(
    planned: PlannedShoot, after: LastBackup | None, *, limit: int, error: str | None = None
) -> ShootOutcome:
    """The outcome of a planned shoot once the run's backup tasks are done.

    ``after`` is the shoot's ``status.lastBackup`` read after them; ``limit`` the run's
    mapping limit (named when a due shoot could not be mapped); ``error`` what its
    backup task failed on, if it did.
    """

    def result(outcome: Outcome, reason: str) -> ShootOutcome:
        return ShootOutcome(shoot=planned.shoot, outcome=outcome, reason=reason)

    if planned.verdict == UNREADABLE:
        return result(Outcome.FAILED, planned.reason)
    if planned.verdict == Verdict.NOT_DUE:
        return result(Outcome.NOT_DUE, planned.reason)
    if planned.verdict == Verdict.SKIPPED:
        return result(Outcome.SKIPPED, planned.reason)
    if not planned.mapped:
        return result(
            Outcome.FAILED,
            f"due ({planned.reason}) but not mapped: one run maps at most {limit} backups "
            "([core] max_map_length)",
        )
    if after is not None and after.verified and after.snapshot != planned.snapshot_before:
        return result(Outcome.BACKED_UP, f"{after.snapshot} ({planned.reason})")
    why = error or "see the backup task's log"
    return result(
        Outcome.FAILED,
        f"due ({planned.reason}) but no new verified snapshot was recorded: {why}",
    )


def summary(outcomes: Sequence[ShootOutcome]) -> dict[str, Any]:
    """The run's XCom: counts per outcome and one row per shoot."""
    return {
        "counts": {o.value: sum(1 for s in outcomes if s.outcome is o) for o in Outcome},
        "shoots": [s.to_dict() for s in sorted(outcomes, key=lambda s: s.shoot)],
    }


def table(outcomes: Sequence[ShootOutcome]) -> str:
    """A fixed-width table for the task log."""
    rows = sorted(outcomes, key=lambda s: s.shoot)
    width = max([len("shoot"), *(len(s.shoot) for s in rows)])
    lines = [f"{'shoot':<{width}}  {'outcome':<9}  why"]
    lines += [f"{s.shoot:<{width}}  {s.outcome.value:<9}  {s.reason}" for s in rows]
    return "\n".join(lines)
