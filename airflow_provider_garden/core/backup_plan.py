"""One ``garden_backup`` run's plan over the whole fleet: pure, from the listed Shoots.

Every Shoot gets a decision (:mod:`backup_schedule`); a Shoot whose spec or status
cannot be read is not skipped quietly but reported as a failure naming the field.
The due shoots are mapped oldest backup first, up to the run's mapping limit
(Airflow's ``[core] max_map_length``); any left over are named, never dropped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from airflow_provider_garden.core.backup_schedule import BackupDecision, Verdict, backup_decision
from airflow_provider_garden.core.fields import Field, FieldTable, Record, as_named, given
from airflow_provider_garden.core.naming import shoot_key
from airflow_provider_garden.core.shoot_spec import parse_shoot
from airflow_provider_garden.core.spec_fields import SpecError
from airflow_provider_garden.core.status import ShootStatus, StatusError

UNREADABLE = "unreadable"  # a verdict beside Verdict's: the shoot cannot be judged


@dataclass(frozen=True, kw_only=True)
class PlannedShoot(Record):
    # newest_backup stays out of the XCom: only planning orders by it.
    FIELDS = FieldTable(
        Field("shoot", given(str, required=True)),
        Field("verdict", given(str, required=True)),
        Field("reason", given(str, required=True)),
        Field("snapshot_before", given()),
        Field("mapped", given(bool)),
        naming=as_named,
    )
    PATH = "planned shoot"

    shoot: str  # <project>/<name>
    verdict: str  # a Verdict value, or UNREADABLE
    reason: str
    snapshot_before: str | None = None
    newest_backup: dt.datetime | None = None
    mapped: bool = False

    @property
    def project(self) -> str:
        return self.shoot.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.shoot.split("/", 1)[1]

    @property
    def decision(self) -> BackupDecision | None:
        if self.verdict == UNREADABLE:
            return None
        return BackupDecision(verdict=Verdict(self.verdict), reason=self.reason)


@dataclass(frozen=True, kw_only=True)
class BackupPlan:
    shoots: tuple[PlannedShoot, ...]
    limit: int

    @property
    def targets(self) -> list[dict[str, str]]:
        """The backup tasks' kwargs, in mapping order."""
        return [{"project": s.project, "name": s.name} for s in self.shoots if s.mapped]

    @property
    def left_over(self) -> list[str]:
        return [s.shoot for s in self.shoots if s.verdict == Verdict.DUE and not s.mapped]


def plan_backups(
    shoots: Iterable[Mapping[str, Any]],
    *,
    start: dt.datetime,
    end: dt.datetime,
    only: Collection[str] = (),
    force: bool = False,
    limit: int,
) -> BackupPlan:
    """Decide for every Shoot (or those named in ``only``); map the due ones.

    ``force`` backs up a shoot whose schedule is not due (a person asked for it); it
    does not override a skip (a shoot being created or deleted has nothing to keep).
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    planned = [_plan_one(s, start=start, end=end, force=force) for s in shoots]
    if only:
        planned = [p for p in planned if p.shoot in only]
        missing = sorted(set(only) - {p.shoot for p in planned})
        planned += [
            PlannedShoot(shoot=m, verdict=UNREADABLE, reason="no such Shoot") for m in missing
        ]
    due = oldest_first((p.shoot, p.newest_backup) for p in planned if p.verdict == Verdict.DUE)
    mapped = set(due[:limit])
    order = {shoot: i for i, shoot in enumerate(due)}
    planned.sort(key=lambda p: (order.get(p.shoot, len(order)), p.shoot))
    return BackupPlan(
        shoots=tuple(replace(p, mapped=p.shoot in mapped) for p in planned), limit=limit
    )


def oldest_first(due: Iterable[tuple[str, dt.datetime | None]]) -> list[str]:
    """Shoots ordered by their newest backup's time (never backed up first), then name.

    When the fleet outgrows one run's mapping limit, the shoots left over are those
    backed up most recently, and the next run starts with them.
    """
    never = dt.datetime.min.replace(tzinfo=dt.UTC)
    return [shoot for shoot, _ in sorted(due, key=lambda d: (d[1] or never, d[0]))]


def _plan_one(
    shoot: Mapping[str, Any], *, start: dt.datetime, end: dt.datetime, force: bool
) -> PlannedShoot:
    meta = shoot.get("metadata") or {}
    key = shoot_key(shoot)
    try:
        spec = parse_shoot(shoot)
        status = ShootStatus.from_shoot(shoot)
    except (SpecError, StatusError) as err:
        return PlannedShoot(shoot=key, verdict=UNREADABLE, reason=f"cannot be read: {err}")
    decision = backup_decision(
        spec.backup,
        status.last_operation,
        status.last_backup,
        deleting=bool(meta.get("deletionTimestamp")),
        start=start,
        end=end,
    )
    if force and decision.verdict is Verdict.NOT_DUE:
        decision = BackupDecision(verdict=Verdict.DUE, reason=f"forced ({decision.reason})")
    last = status.last_backup
    return PlannedShoot(
        shoot=key,
        verdict=decision.verdict.value,
        reason=decision.reason,
        snapshot_before=last.snapshot if last else None,
        newest_backup=last.created if last else None,
    )
