"""garden_backup's fleet plan and report: every shoot decided, none dropped, truth read back."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from airflow_provider_garden.core.backup_plan import UNREADABLE, PlannedShoot, plan_backups
from airflow_provider_garden.core.backup_report import (
    Outcome,
    backups_by_shoot,
    outcome_of,
    summary,
    table,
)
from airflow_provider_garden.core.status import LastBackup

START = dt.datetime(2026, 12, 1, 6, 15, tzinfo=dt.UTC)
END = START + dt.timedelta(hours=1)  # the 07:15 run: no 6-hourly tick, an hourly one


def shoot(
    name: str,
    *,
    project: str = "team",
    schedule: str | None = "0 * * * *",
    op: tuple[str, str] | None = ("Reconcile", "Succeeded"),
    backup_at: str | None = "2026-12-01T06:20:00Z",
    snapshot: str = "Backup-1/Full-1",
    **extra_meta: Any,
) -> dict[str, Any]:
    status: dict[str, Any] = {}
    if op:
        status["lastOperation"] = {"type": op[0], "state": op[1], "progress": 100}
    if backup_at:
        status["lastBackup"] = {"snapshot": snapshot, "created": backup_at, "verified": True}
    spec: dict[str, Any] = {"kubernetes": {"version": "1.32.11"}}
    if schedule:
        spec["backup"] = {"store": {"kind": "local"}, "schedule": schedule}
    return {
        "apiVersion": "garden.airflow.io/v1alpha1",
        "kind": "Shoot",
        "metadata": {"name": name, "namespace": f"garden-{project}", **extra_meta},
        "spec": spec,
        "status": status,
    }


def plan(shoots: list[dict[str, Any]], **kwargs: Any) -> dict[str, PlannedShoot]:
    kwargs.setdefault("limit", 1024)
    result = plan_backups(shoots, start=START, end=END, **kwargs)
    return {p.shoot: p for p in result.shoots}


def test_every_shoot_is_decided_and_the_due_ones_mapped() -> None:
    fleet = [
        shoot("hourly"),
        shoot("six", schedule="0 */6 * * *"),
        shoot("broken", op=("Reconcile", "Error")),
        shoot("frozen", op=("Reconcile", "Failed")),
        shoot("new", op=("Create", "Processing"), backup_at=None),
        shoot("going", deletionTimestamp="2026-12-01T07:00:00Z"),
        shoot("plain", schedule=None),
    ]
    result = plan_backups(fleet, start=START, end=END, limit=1024)
    verdicts = {p.shoot: (p.verdict, p.mapped) for p in result.shoots}
    assert verdicts == {
        "team/hourly": ("due", True),
        "team/six": ("not due", False),
        "team/broken": ("due", True),
        "team/frozen": ("due", True),
        "team/new": ("skipped", False),
        "team/going": ("skipped", False),
        "team/plain": ("skipped", False),
    }
    assert sorted(t["name"] for t in result.targets) == ["broken", "frozen", "hourly"]
    assert result.left_over == []


def test_past_the_mapping_limit_the_rest_are_named_oldest_backup_first() -> None:
    fleet = [
        shoot("a", backup_at="2026-12-01T05:00:00Z"),
        shoot("b", backup_at="2026-11-30T05:00:00Z"),
        shoot("c", backup_at=None),
        shoot("d", backup_at="2026-12-01T06:00:00Z"),
    ]
    result = plan_backups(fleet, start=START, end=END, limit=2)
    assert [t["name"] for t in result.targets] == ["c", "b"]  # never, then the oldest
    assert result.left_over == ["team/a", "team/d"]


def test_only_and_force() -> None:
    fleet = [shoot("six", schedule="0 */6 * * *"), shoot("other")]
    assert set(plan(fleet, only={"team/six"})) == {"team/six"}
    typo = plan(fleet, only={"team/sxi"})  # asked for by name: its absence is a failure
    assert [(k, p.verdict, p.reason) for k, p in typo.items()] == [
        ("team/sxi", UNREADABLE, "no such Shoot")
    ]
    forced = plan(fleet, only={"team/six"}, force=True)["team/six"]
    assert (forced.verdict, forced.mapped) == ("due", True)
    assert forced.reason.startswith("forced (")
    # force does not back up what has nothing to keep
    new = plan([shoot("new", op=None)], force=True)["team/new"]
    assert new.verdict == "skipped"


def test_an_unreadable_shoot_is_named_not_dropped() -> None:
    bad = shoot("bad")
    bad["spec"]["backup"]["schedule"] = 7  # the CRD would refuse it; still, never crash
    odd = shoot("odd")
    odd["status"]["lastOperation"]["state"] = "Sleeping"
    planned = plan([bad, odd, shoot("good")])
    assert planned["team/bad"].verdict == UNREADABLE
    assert "spec.backup.schedule" in planned["team/bad"].reason
    assert planned["team/odd"].verdict == UNREADABLE
    assert "status.lastOperation.state" in planned["team/odd"].reason
    assert planned["team/good"].mapped


def test_the_limit_must_allow_something() -> None:
    with pytest.raises(ValueError, match="limit"):
        plan_backups([], start=START, end=END, limit=0)


def test_planned_shoots_survive_xcom() -> None:
    p = plan([shoot("hourly")])["team/hourly"]
    assert PlannedShoot.from_dict(p.to_dict()) == PlannedShoot(
        shoot=p.shoot,
        verdict=p.verdict,
        reason=p.reason,
        snapshot_before=p.snapshot_before,
        mapped=p.mapped,
    )


NEW = LastBackup(snapshot="Backup-2/Full-9", verified=True)


@pytest.mark.parametrize(
    ("planned", "after", "outcome", "words"),
    [
        ({"verdict": "due", "mapped": True}, NEW, Outcome.BACKED_UP, "Backup-2/Full-9"),
        # the task's claim is not enough: the Shoot must name a new verified snapshot
        ({"verdict": "due", "mapped": True}, None, Outcome.FAILED, "no new verified snapshot"),
        (
            {"verdict": "due", "mapped": True},
            LastBackup(snapshot="Backup-1/Full-1", verified=True),
            Outcome.FAILED,
            "no new verified snapshot",
        ),
        (
            {"verdict": "due", "mapped": True},
            LastBackup(snapshot="Backup-2/Full-9", verified=False),
            Outcome.FAILED,
            "no new verified snapshot",
        ),
        ({"verdict": "due", "mapped": False}, None, Outcome.FAILED, "at most 2 backups"),
        ({"verdict": "not due"}, None, Outcome.NOT_DUE, "why"),
        ({"verdict": "skipped"}, None, Outcome.SKIPPED, "why"),
        ({"verdict": UNREADABLE}, None, Outcome.FAILED, "why"),
    ],
)
def test_outcome_of(
    planned: dict[str, Any], after: LastBackup | None, outcome: Outcome, words: str
) -> None:
    p = PlannedShoot.from_dict(
        {"shoot": "team/x", "reason": "why", "snapshot_before": "Backup-1/Full-1", **planned}
    )
    result = outcome_of(p, after, limit=2)
    assert result.outcome is outcome
    assert words in result.reason


def test_a_failed_backup_names_what_its_task_failed_on() -> None:
    p = PlannedShoot.from_dict(
        {"shoot": "team/x", "reason": "due", "verdict": "due", "mapped": True}
    )
    error = "ERR_INFRA_QUOTA_EXCEEDED: snapshot store local /backups/x has no room"
    result = outcome_of(p, None, limit=2, error=error)
    assert result.outcome is Outcome.FAILED
    assert result.reason.endswith(f"no new verified snapshot was recorded: {error}")


def test_summary_and_table_list_every_shoot() -> None:
    fleet = [shoot("a"), shoot("b", schedule="0 */6 * * *"), shoot("c", schedule=None)]
    planned = plan(fleet)
    after = backups_by_shoot([shoot("a", snapshot="Backup-2/Full-5"), *fleet[1:]])
    outcomes = [outcome_of(p, after[k], limit=9) for k, p in planned.items()]
    result = summary(outcomes)
    assert result["counts"] == {"backed up": 1, "not due": 1, "skipped": 1, "failed": 0}
    assert [(s["shoot"], s["outcome"]) for s in result["shoots"]] == [
        ("team/a", "backed up"),
        ("team/b", "not due"),
        ("team/c", "skipped"),
    ]
    text = table(outcomes)
    assert "team/c  skipped    no spec.backup" in text
    assert len(text.splitlines()) == 4
