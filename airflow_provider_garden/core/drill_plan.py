"""One ``garden_restore_drill`` run over the fleet: which shoots to drill, and the report.

Pure, from the listed Shoots. A shoot is drilled when it has ``spec.backup`` and a
verified ``status.lastBackup`` (there is a snapshot to prove) and is not being
deleted; every other shoot is named with why it was skipped. Shoots go least recently
drilled first, up to the run's mapping limit (Airflow's ``[core] max_map_length``);
those left over are named and fail the run, never dropped silently.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_garden.core.naming import shoot_key
from airflow_provider_garden.core.shoot_spec import parse_shoot
from airflow_provider_garden.core.spec_fields import SpecError
from airflow_provider_garden.core.status import LastRestoreDrill, ShootStatus, StatusError


class DrillVerdict(enum.StrEnum):
    DRILL = "drill"
    SKIPPED = "skipped"
    LEFT_OVER = "left over"  # would be drilled, past the mapping limit


@dataclass(frozen=True, kw_only=True)
class DrillDecision:
    shoot: str  # <project>/<name>
    verdict: DrillVerdict
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"shoot": self.shoot, "verdict": self.verdict.value, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> DrillDecision:
        return cls(
            shoot=data["shoot"], verdict=DrillVerdict(data["verdict"]), reason=data["reason"]
        )


@dataclass(frozen=True, kw_only=True)
class DrillPlan:
    decisions: tuple[DrillDecision, ...]

    @property
    def targets(self) -> list[dict[str, str]]:
        """The drill tasks' kwargs, in mapping order."""
        drilled = [d.shoot for d in self.decisions if d.verdict is DrillVerdict.DRILL]
        return [dict(zip(("project", "name"), s.split("/", 1), strict=True)) for s in drilled]


def plan_drills(
    shoots: Iterable[Mapping[str, Any]], *, only: Collection[str] = (), limit: int
) -> DrillPlan:
    """Decide for every Shoot (or those named in ``only``); drill the least recently
    drilled first, up to ``limit``."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    judged = [_judge(s) for s in shoots]
    if only:
        judged = [j for j in judged if j[0].shoot in only]
        found = {j[0].shoot for j in judged}
        judged += [
            (DrillDecision(shoot=m, verdict=DrillVerdict.SKIPPED, reason="no such Shoot"), None)
            for m in sorted(set(only) - found)
        ]
    never = dt.datetime.min.replace(tzinfo=dt.UTC)
    due = sorted(
        (j for j in judged if j[0].verdict is DrillVerdict.DRILL),
        key=lambda j: (j[1] or never, j[0].shoot),
    )
    left = {d.shoot for d, _ in due[limit:]}
    decisions = [
        DrillDecision(
            shoot=d.shoot,
            verdict=DrillVerdict.LEFT_OVER,
            reason=f"past the mapping limit {limit}: first in the next run",
        )
        if d.shoot in left
        else d
        for d, _ in judged
    ]
    order = {d.shoot: i for i, (d, _) in enumerate(due)}
    decisions.sort(key=lambda d: (order.get(d.shoot, len(order)), d.shoot))
    return DrillPlan(decisions=tuple(decisions))


def _judge(shoot: Mapping[str, Any]) -> tuple[DrillDecision, dt.datetime | None]:
    """The shoot's decision and when it was last drilled (None: never)."""
    key = shoot_key(shoot)

    def skipped(reason: str) -> tuple[DrillDecision, None]:
        return DrillDecision(shoot=key, verdict=DrillVerdict.SKIPPED, reason=reason), None

    try:
        spec = parse_shoot(shoot)
        status = ShootStatus.from_shoot(shoot)
    except (SpecError, StatusError) as err:
        return skipped(f"cannot be read: {err}")
    if (shoot.get("metadata") or {}).get("deletionTimestamp"):
        return skipped("being deleted")
    if spec.backup is None:
        return skipped("no spec.backup: no snapshots to drill")
    backup = status.last_backup
    if backup is None or not backup.verified:
        return skipped("no verified status.lastBackup yet: nothing to restore")
    last = status.last_restore_drill
    since = f"last drilled {last.time:%Y-%m-%d %H:%M}Z" if last and last.time else "never drilled"
    decision = DrillDecision(
        shoot=key, verdict=DrillVerdict.DRILL, reason=f"newest backup {backup.snapshot}; {since}"
    )
    return decision, last.time if last else None


class DrillOutcome(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


def outcome_of(
    decision: DrillDecision, after: LastRestoreDrill | None, *, since: dt.datetime
) -> tuple[DrillOutcome, str]:
    """What one shoot's line of the report says, from its ``lastRestoreDrill`` read after
    the drills (``since``: when the run planned them; older records are not this run's)."""
    if decision.verdict is DrillVerdict.SKIPPED:
        return DrillOutcome.SKIPPED, decision.reason
    if decision.verdict is DrillVerdict.LEFT_OVER:
        return DrillOutcome.FAILED, f"not drilled: {decision.reason}"
    if after is None or after.time is None or after.time < since.replace(microsecond=0):
        return DrillOutcome.FAILED, "no drill recorded by this run (the task did not run?)"
    if not after.succeeded:
        return DrillOutcome.FAILED, after.description
    return DrillOutcome.PASSED, after.description
