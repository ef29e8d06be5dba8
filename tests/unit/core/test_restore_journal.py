"""The restore journal: what settling an open restore does from each phase, and that
every rollback keeps a complete data directory on the volume at every step."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_garden.core.restore_journal import (
    ORDER,
    Dir,
    Direction,
    JournalError,
    Layout,
    Phase,
    Rename,
    RestoreJournal,
    Step,
    direction,
    finish_steps,
    previous_name,
    proven,
    rollback_steps,
)
from airflow_provider_garden.core.status import StatusError

T0 = dt.datetime(2026, 12, 6, 19, 0, tzinfo=dt.UTC)


def journal(phase: Phase = Phase.VERIFIED, *, had_data: bool = True) -> RestoreJournal:
    return RestoreJournal(
        phase=phase,
        snapshot="Backup-20261206T180000Z.db.gz",
        revision=4200,
        previous=previous_name(T0),
        had_data=had_data,
        started=T0,
        updated=T0,
    )


Volume = dict[Dir, str]  # role -> whose data the directory holds ("old" or "new")


def layout(volume: Volume) -> Layout:
    return Layout(data=Dir.DATA in volume, part=Dir.PART in volume, previous=Dir.PREVIOUS in volume)


def apply(volume: Volume, step: Step) -> None:
    if isinstance(step, Rename):
        assert step.target not in volume, f"{step} would overwrite {step.target}"
        volume[step.target] = volume.pop(step.source)
    else:
        volume.pop(step, None)


# The volume at each point a restore can die, in the order the restore gets there.
BEFORE_PART = {Dir.DATA: "old"}
PART_WRITTEN = {Dir.DATA: "old", Dir.PART: "new"}
BETWEEN_RENAMES = {Dir.PREVIOUS: "old", Dir.PART: "new"}
SWAPPED = {Dir.PREVIOUS: "old", Dir.DATA: "new"}
CRASH_POINTS = [BEFORE_PART, PART_WRITTEN, BETWEEN_RENAMES, SWAPPED]


def test_phases_advance_one_at_a_time_and_close_only_when_proven() -> None:
    j = journal()
    for phase in ORDER[1:]:
        j = j.advance(phase, now=T0)
        assert j.open
        assert f"phase {phase}" in (j.refusal() or "")
    assert j.close(Phase.DONE, now=T0, message="ok").refusal() is None
    with pytest.raises(ValueError, match="cannot go from Verified to Swapped"):
        journal().advance(Phase.SWAPPED, now=T0)
    with pytest.raises(ValueError, match="not proven healthy"):
        journal(Phase.STARTED).close(Phase.DONE, now=T0, message="")
    with pytest.raises(ValueError, match="closed"):
        journal().close(Phase.ROLLED_BACK, now=T0, message="").advance(Phase.STOPPED, now=T0)


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        (Phase.VERIFIED, Direction.ROLL_BACK),
        (Phase.STOPPED, Direction.ROLL_BACK),
        (Phase.RESTORED_TO_PART, Direction.ROLL_BACK),
        (Phase.SWAPPED, Direction.PROVE),
        (Phase.STARTED, Direction.PROVE),
        (Phase.HEALTHY, Direction.FINISH),
    ],
)
def test_direction_from_each_phase(phase: Phase, expected: Direction) -> None:
    assert direction(journal(phase)) is expected


def test_a_closed_journal_has_nothing_to_settle() -> None:
    with pytest.raises(ValueError, match="nothing to settle"):
        direction(journal().close(Phase.ROLLED_BACK, now=T0, message=""))


@pytest.mark.parametrize("crash", CRASH_POINTS, ids=lambda v: str(layout(v)))
def test_rollback_from_every_crash_point_brings_back_the_old_data(crash: Volume) -> None:
    steps = rollback_steps(journal(Phase.RESTORED_TO_PART), layout(crash))
    # A rollback that dies after any step is rolled back again from where it stopped.
    for stop_after in range(len(steps) + 1):
        volume = dict(crash)
        for step in steps[:stop_after]:
            apply(volume, step)
            assert "old" in volume.values(), f"no complete old data after {step}: {volume}"
        for step in rollback_steps(journal(Phase.RESTORED_TO_PART), layout(volume)):
            apply(volume, step)
            assert "old" in volume.values()
        assert volume == {Dir.DATA: "old"}


def test_rollback_without_previous_data_only_removes_the_part() -> None:
    fresh = journal(had_data=False)
    assert rollback_steps(fresh, Layout(data=False, part=True, previous=False)) == [Dir.PART]
    assert rollback_steps(fresh, Layout(data=False, part=False, previous=False)) == []


def test_rollback_refuses_when_the_old_data_is_gone() -> None:
    with pytest.raises(JournalError, match="data before the restore is missing"):
        rollback_steps(journal(), Layout(data=False, part=True, previous=False))
    with pytest.raises(JournalError, match="no restore step leaves all three"):
        rollback_steps(journal(), Layout(data=True, part=True, previous=True))


def test_finish_drops_the_previous_data_only_when_the_restored_one_is_in_place() -> None:
    healthy = journal(Phase.HEALTHY)
    assert finish_steps(healthy, layout(SWAPPED)) == [Dir.PREVIOUS]
    assert finish_steps(healthy, Layout(data=True, part=False, previous=False)) == []
    with pytest.raises(JournalError, match="expected the restored data"):
        finish_steps(healthy, layout(BETWEEN_RENAMES))


def test_proven_only_when_etcd_serves_at_least_the_snapshot_revision() -> None:
    j = journal()
    assert proven(j, revision=4200)
    assert proven(j, revision=4203)  # etcd revoked an expired lease after it started
    assert not proven(j, revision=1)  # what an etcd started on an empty directory answers


def test_journal_round_trips_and_names_a_bad_field() -> None:
    j = journal(Phase.SWAPPED)
    assert RestoreJournal.from_dict(j.to_dict()) == j
    broken = {**j.to_dict(), "phase": "HalfSwapped"}
    with pytest.raises(StatusError, match=r"restore journal\.phase"):
        RestoreJournal.from_dict(broken)
    with pytest.raises(StatusError, match=r"restore journal\.started"):
        RestoreJournal.from_dict({**j.to_dict(), "started": None})
