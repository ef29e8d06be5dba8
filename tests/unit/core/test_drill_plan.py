"""garden_restore_drill's plan and report: who is drilled, in which order, and why not."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from airflow_provider_garden.core.drill_plan import (
    DrillDecision,
    DrillOutcome,
    DrillVerdict,
    outcome_of,
    plan_drills,
)
from airflow_provider_garden.core.status import DrillState, LastRestoreDrill

T0 = dt.datetime(2026, 12, 6, 3, 30, tzinfo=dt.UTC)
BACKUP = {"snapshot": "Backup-1/Full-0-42-1", "verified": True}


def _shoot(
    name: str,
    *,
    backup: bool = True,
    last_backup: dict[str, Any] | None = BACKUP,
    drilled: str | None = None,
    deleting: bool = False,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"kubernetes": {"version": "1.32.3"}}
    if backup:
        spec["backup"] = {"store": {"kind": "local"}}
    status: dict[str, Any] = {}
    if last_backup:
        status["lastBackup"] = last_backup
    if drilled:
        status["lastRestoreDrill"] = {"time": drilled, "state": "Succeeded", "description": ""}
    meta: dict[str, Any] = {"name": name, "namespace": "garden-team-a", "uid": "u"}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-06T00:00:00Z"
    return {"metadata": meta, "spec": spec, "status": status}


def _verdicts(plan: Any) -> dict[str, tuple[DrillVerdict, str]]:
    return {d.shoot: (d.verdict, d.reason) for d in plan.decisions}


@pytest.mark.parametrize(
    ("shoot", "why"),
    [
        (_shoot("a", backup=False, last_backup=None), "no spec.backup"),
        (_shoot("a", last_backup=None), "no verified status.lastBackup"),
        (_shoot("a", last_backup={**BACKUP, "verified": False}), "no verified status.lastBackup"),
        (_shoot("a", deleting=True), "being deleted"),
        ({**_shoot("a"), "status": {"lastBackup": "x"}}, "cannot be read: status.lastBackup"),
    ],
)
def test_shoots_without_a_snapshot_to_prove_are_skipped_naming_why(
    shoot: dict[str, Any], why: str
) -> None:
    plan = plan_drills([shoot], limit=10)
    verdict, reason = _verdicts(plan)["team-a/a"]
    assert verdict is DrillVerdict.SKIPPED
    assert why in reason
    assert plan.targets == []


def test_least_recently_drilled_first_and_never_drilled_before_all() -> None:
    shoots = [
        _shoot("recent", drilled="2026-11-29T03:30:00Z"),
        _shoot("never"),
        _shoot("older", drilled="2026-11-22T03:30:00Z"),
        _shoot("nothing", backup=False, last_backup=None),
    ]
    plan = plan_drills(shoots, limit=10)
    assert [t["name"] for t in plan.targets] == ["never", "older", "recent"]
    assert plan.targets[0] == {"project": "team-a", "name": "never"}
    assert [d.shoot for d in plan.decisions][-1] == "team-a/nothing"


def test_past_the_mapping_limit_the_rest_are_named_not_dropped() -> None:
    shoots = [_shoot("a"), _shoot("b", drilled="2026-11-29T03:30:00Z"), _shoot("c")]
    plan = plan_drills(shoots, limit=2)
    assert [t["name"] for t in plan.targets] == ["a", "c"]
    verdict, reason = _verdicts(plan)["team-a/b"]
    assert verdict is DrillVerdict.LEFT_OVER
    assert "limit 2" in reason


def test_only_limits_the_run_and_names_shoots_that_do_not_exist() -> None:
    plan = plan_drills([_shoot("a"), _shoot("b")], only={"team-a/b", "team-a/gone"}, limit=10)
    assert [t["name"] for t in plan.targets] == ["b"]
    assert _verdicts(plan)["team-a/gone"] == (DrillVerdict.SKIPPED, "no such Shoot")
    assert "team-a/a" not in _verdicts(plan)


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="limit must be at least 1"):
        plan_drills([], limit=0)


DRILL = DrillDecision(shoot="team-a/a", verdict=DrillVerdict.DRILL, reason="")


@pytest.mark.parametrize(
    ("decision", "after", "outcome", "says"),
    [
        (
            DRILL,
            LastRestoreDrill(time=T0, state=DrillState.SUCCEEDED, description="1004 objects"),
            DrillOutcome.PASSED,
            "1004 objects",
        ),
        (
            DRILL,
            LastRestoreDrill(time=T0, state=DrillState.FAILED, description="sha256 x differs"),
            DrillOutcome.FAILED,
            "sha256 x differs",
        ),
        # A pass recorded before this run is not this run's: the drill did not happen.
        (
            DRILL,
            LastRestoreDrill(
                time=T0 - dt.timedelta(days=7), state=DrillState.SUCCEEDED, description="old"
            ),
            DrillOutcome.FAILED,
            "no drill recorded by this run",
        ),
        (DRILL, None, DrillOutcome.FAILED, "no drill recorded by this run"),
        (
            DrillDecision(shoot="team-a/a", verdict=DrillVerdict.LEFT_OVER, reason="past"),
            None,
            DrillOutcome.FAILED,
            "not drilled: past",
        ),
        (
            DrillDecision(shoot="team-a/a", verdict=DrillVerdict.SKIPPED, reason="being deleted"),
            None,
            DrillOutcome.SKIPPED,
            "being deleted",
        ),
    ],
)
def test_report_lines(
    decision: DrillDecision, after: LastRestoreDrill | None, outcome: DrillOutcome, says: str
) -> None:
    got, why = outcome_of(decision, after, since=T0 + dt.timedelta(microseconds=300))
    assert got is outcome
    assert says in why


def test_decisions_travel_through_xcom_unchanged() -> None:
    (decision,) = plan_drills([_shoot("a")], limit=1).decisions
    assert DrillDecision.from_dict(decision.to_dict()) == decision
