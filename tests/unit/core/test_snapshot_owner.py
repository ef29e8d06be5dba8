from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_garden.core.snapshot_owner import (
    UNMARKED,
    OwnedSnapshot,
    SnapshotChoiceError,
    choose_restore,
    newest_good,
    of_uid,
)

T0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
OLD = "11111111-1111-1111-1111-111111111111"  # the deleted shoot of the name
NEW = "22222222-2222-2222-2222-222222222222"  # the shoot of the same name now


def snap(key: str, hours: int, uid: str | None, *, good: bool = True) -> OwnedSnapshot:
    return OwnedSnapshot(key=key, created=T0 + dt.timedelta(hours=hours), good=good, shoot_uid=uid)


# The deleted shoot's snapshots are newer than the new shoot's first one: a choice by
# time alone would bring the deleted cluster back.
STORE = [
    snap("legacy", 0, None),
    snap("new-1", 1, NEW),
    snap("old-1", 2, OLD),
    snap("old-2", 3, OLD),
    snap("new-2-unverified", 4, NEW, good=False),
]


def test_newest_good_looks_only_at_the_shoots_own_uid() -> None:
    chosen = newest_good(STORE, shoot_uid=NEW)
    assert chosen is not None
    assert chosen.key == "new-1"
    chosen = newest_good(STORE, shoot_uid=OLD)
    assert chosen is not None
    assert chosen.key == "old-2"


def test_newest_good_of_a_shoot_without_snapshots_is_none() -> None:
    assert newest_good(STORE, shoot_uid="33333333-3333-3333-3333-333333333333") is None


def test_newest_good_refuses_an_empty_uid() -> None:
    with pytest.raises(SnapshotChoiceError, match="shoot_uid must not be empty"):
        newest_good(STORE, shoot_uid="")


def test_unmarked_snapshots_belong_to_no_shoot() -> None:
    assert [s.key for s in of_uid(STORE, UNMARKED)] == ["legacy"]
    assert all(s.key != "legacy" for uid in (OLD, NEW) for s in of_uid(STORE, uid))


def test_default_restore_takes_this_shoots_newest_good() -> None:
    assert choose_restore(STORE, shoot_uid=NEW).key == "new-1"


def test_default_restore_with_only_foreign_snapshots_names_the_uids_it_ignored() -> None:
    foreign = [s for s in STORE if s.shoot_uid != NEW]
    with pytest.raises(SnapshotChoiceError) as err:
        choose_restore(foreign, shoot_uid=NEW)
    assert str(err.value) == (
        f"no good snapshot of shoot UID {NEW} (this shoot) to restore from; "
        f"snapshots of other UIDs are ignored: {OLD}, {UNMARKED}"
    )


def test_naming_a_foreign_snapshot_is_refused_naming_its_uid_and_the_param() -> None:
    with pytest.raises(SnapshotChoiceError) as err:
        choose_restore(STORE, shoot_uid=NEW, snapshot="old-1")
    assert f"belongs to shoot UID {OLD}, not {NEW}" in str(err.value)
    assert f"from_uid={OLD}" in str(err.value)


def test_from_uid_allows_that_uid_only() -> None:
    assert choose_restore(STORE, shoot_uid=NEW, from_uid=OLD).key == "old-2"
    assert choose_restore(STORE, shoot_uid=NEW, from_uid=OLD, snapshot="old-1").key == "old-1"
    with pytest.raises(SnapshotChoiceError, match=f"belongs to shoot UID {NEW}, not {OLD}"):
        choose_restore(STORE, shoot_uid=NEW, from_uid=OLD, snapshot="new-1")


def test_unmarked_snapshots_need_from_uid_unmarked() -> None:
    with pytest.raises(SnapshotChoiceError, match=f"from_uid={UNMARKED}"):
        choose_restore(STORE, shoot_uid=NEW, snapshot="legacy")
    assert choose_restore(STORE, shoot_uid=NEW, from_uid=UNMARKED).key == "legacy"


def test_a_named_snapshot_must_exist_and_be_good() -> None:
    with pytest.raises(SnapshotChoiceError, match="no snapshot 'nope'"):
        choose_restore(STORE, shoot_uid=NEW, snapshot="nope")
    with pytest.raises(SnapshotChoiceError, match="is not good"):
        choose_restore(STORE, shoot_uid=NEW, snapshot="new-2-unverified")
