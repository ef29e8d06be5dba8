from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_garden.core.retention import (
    Snapshot,
    parse_snapshot_name,
    plan_retention,
    snapshot_name,
    unique_snapshot_name,
)
from airflow_provider_garden.core.shoot_spec import RetentionPolicy

EXP = RetentionPolicy.EXPONENTIAL
LIMIT = RetentionPolicy.LIMIT_BASED


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def snaps(*specs: str, good: bool = True) -> list[Snapshot]:
    """Snapshots named by their creation time."""
    return [Snapshot(name=s, created=at(s), good=good) for s in specs]


# --- names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "created", "compressed", "name"),
    [
        (
            1,
            4200,
            "2024-06-01T12:00:00",
            False,
            "Backup-1717243200/Full-00000001-00004200-1717243200",
        ),
        (0, 0, "1970-01-01T00:00:00", True, "Backup-0/Full-00000000-00000000-0.gz"),
        (
            123456789,
            987654321,
            "2024-06-01T12:00:00.9",
            False,
            "Backup-1717243200/Full-123456789-987654321-1717243200",
        ),
    ],
)
def test_snapshot_name_round_trip(
    start: int, end: int, created: str, compressed: bool, name: str
) -> None:
    assert snapshot_name(start, end, at(created), compressed) == name
    parsed = parse_snapshot_name(name)
    assert (parsed.start_revision, parsed.end_revision, parsed.compressed) == (
        start,
        end,
        compressed,
    )
    assert parsed.created == at(created).replace(microsecond=0)
    assert str(parsed) == name


def test_snapshot_name_uses_the_instant_not_the_wall_clock() -> None:
    berlin = dt.timezone(dt.timedelta(hours=2))
    created = dt.datetime(2024, 6, 1, 14, 0, tzinfo=berlin)
    assert snapshot_name(1, 2, created, False) == snapshot_name(1, 2, at("2024-06-01T12:00"), False)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "../Backup-1/Full-00000001-00000002-1",
        "Backup-1/../Full-00000001-00000002-1",
        "Backup-1/Full-00000001-00000002-1/../../etc/passwd",
        "/Backup-1/Full-00000001-00000002-1",
        "Backup-1/Full-00000001-00000002-1.gz.json",
        "Backup-1/Full-00000001-00000002-1.zst",
        "Backup-1/Incr-00000001-00000002-1",
        "Backup-1/Full-0001-0002-1",  # revisions are zero-padded to 8 digits
        "Backup-1/Full-00000003-00000002-1",  # start after end
        "Backup-2/Full-00000001-00000002-1",  # dir and file disagree
        "Backup-1\\Full-00000001-00000002-1",
        "Backup-1/Full-00000001-00000002-1\n",
        "Backup-\u0661/Full-00000001-00000002-\u0661",  # Arabic-Indic digit one
        "prefix/Backup-1/Full-00000001-00000002-1",
    ],
)
def test_parse_rejects_garbage_and_traversal(key: str) -> None:
    with pytest.raises(ValueError, match=r"snapshot name|differ|after end"):
        parse_snapshot_name(key)


def test_unique_names_of_one_revision_in_one_second_differ_and_round_trip() -> None:
    created = at("2024-06-01T12:00:00.250000")
    first, second = (unique_snapshot_name(1, 4200, created, True) for _ in range(2))
    assert first != second
    for name in (first, second):
        assert name.startswith("Backup-1717243200/Full-00000001-00004200-1717243200-250000-")
        assert name.endswith(".gz")
        parsed = parse_snapshot_name(name)
        assert parsed.created == created  # to the microsecond: backups sort by time
        assert parsed.nonce is not None
        assert name.endswith(f"-{parsed.nonce}.gz")
        assert str(parsed) == name


def test_unique_names_sort_by_time_within_a_second() -> None:
    earlier = unique_snapshot_name(1, 9, at("2024-06-01T12:00:00.000999"), False)
    later = unique_snapshot_name(1, 9, at("2024-06-01T12:00:00.001000"), False)
    assert parse_snapshot_name(earlier).created < parse_snapshot_name(later).created
    assert earlier < later  # same revisions: the key sorts the same way


def test_names_written_before_the_unique_tail_still_parse() -> None:
    parsed = parse_snapshot_name("Backup-1717243200/Full-00000001-00004200-1717243200.gz")
    assert (parsed.created, parsed.nonce, parsed.compressed) == (
        at("2024-06-01T12:00:00"),
        None,
        True,
    )


@pytest.mark.parametrize(
    "key",
    [
        "Backup-1/Full-00000001-00000002-1-000001",  # microseconds without a nonce
        "Backup-1/Full-00000001-00000002-1-1-0123abcd",  # microseconds not 6 digits
        "Backup-1/Full-00000001-00000002-1-000001-0123ABCD",  # nonce not lowercase hex
        "Backup-1/Full-00000001-00000002-1-000001-0123abc",  # nonce not 8 digits
        "Backup-1/Full-00000001-00000002-1-000001-0123abcd.gz.gz",
    ],
)
def test_parse_rejects_a_malformed_unique_tail(key: str) -> None:
    with pytest.raises(ValueError, match="snapshot name"):
        parse_snapshot_name(key)


def test_snapshot_name_rejects_a_malformed_nonce() -> None:
    with pytest.raises(ValueError, match="nonce must be 8 lowercase hex digits"):
        snapshot_name(1, 2, at("2024-06-01T12:00"), False, nonce="../x")


@pytest.mark.parametrize(("start", "end"), [(-1, 2), (3, 2)])
def test_snapshot_name_rejects_bad_revisions(start: int, end: int) -> None:
    with pytest.raises(ValueError, match="revisions"):
        snapshot_name(start, end, at("2024-06-01T12:00"), False)


# --- exponential ---------------------------------------------------------------------

NOW = "2024-06-12T14:30:00"  # a Wednesday; ISO week 24 began Monday 2024-06-10


@pytest.mark.parametrize(
    ("created", "expected_deleted"),
    [
        # Every full of the current hour stays.
        (["2024-06-12T14:00:00", "2024-06-12T14:10:00", "2024-06-12T14:29:00"], []),
        # Earlier hours within 24 h: newest per hour.
        (
            [
                "2024-06-12T13:05:00",
                "2024-06-12T13:55:00",
                "2024-06-12T12:59:59",
                "2024-06-12T13:00:00",
            ],
            ["2024-06-12T13:00:00", "2024-06-12T13:05:00"],
        ),
        # Hour boundary: 13:59:59 and 14:00:00 are different hours.
        (["2024-06-12T13:59:59", "2024-06-12T14:00:00"], []),
        # 24 h boundary: at 23:59:59 old a snapshot is hourly, at 24:00:00 daily.
        (
            ["2024-06-11T14:30:01", "2024-06-11T14:40:00"],
            ["2024-06-11T14:30:01"],  # same hour: the newer one wins
        ),
        (
            # Yesterday 14:20 (24h10m old: daily tier) and 14:40 (23h50m: hourly tier) share a
            # day; the newer represents the day, so the older one goes.
            ["2024-06-11T14:20:00", "2024-06-11T14:40:00"],
            ["2024-06-11T14:20:00"],
        ),
        (
            # Days 1-7 back: newest per UTC day; the day boundary is midnight UTC.
            [
                "2024-06-10T23:59:59",
                "2024-06-10T01:00:00",
                "2024-06-11T00:00:00",
                "2024-06-09T12:00:00",
                "2024-06-05T15:00:00",  # 6 d 23.5 h: still daily
                "2024-06-05T14:00:00",
            ],
            ["2024-06-05T14:00:00", "2024-06-10T01:00:00"],
        ),
        (
            # 7 days boundary: 2024-06-05T14:30 is exactly 7 d old -> weekly tier.
            # Week of Mon 2024-06-03: the newest is 06-05T15:00 (daily), so the rest go.
            ["2024-06-05T14:30:00", "2024-06-05T15:00:00", "2024-06-03T00:00:00"],
            ["2024-06-03T00:00:00", "2024-06-05T14:30:00"],
        ),
        (
            # Weekly tier across the ISO week boundary (Sunday 23:59 vs Monday 00:00).
            ["2024-06-02T23:59:59", "2024-06-03T00:00:00", "2024-05-26T23:59:59"],
            [],
        ),
        (
            [
                "2024-05-26T10:00:00",  # week 21, 17 d old: newest of its week
                "2024-05-25T10:00:00",  # same week, older
                "2024-05-15T14:30:01",  # 27 d 23:59:59 old: still weekly
                "2024-05-15T14:30:00",  # exactly 28 d: too old
                "2024-01-01T00:00:00",
            ],
            ["2024-01-01T00:00:00", "2024-05-15T14:30:00", "2024-05-25T10:00:00"],
        ),
    ],
)
def test_exponential(created: list[str], expected_deleted: list[str]) -> None:
    plan = plan_retention(snaps(*created), policy=EXP, now=at(NOW))
    assert list(plan.delete_names) == expected_deleted
    assert {d.name for d in plan.keep} | set(plan.delete_names) == set(created)


def test_newest_good_snapshot_survives_even_when_very_old() -> None:
    plan = plan_retention(
        snaps("2023-01-01T00:00:00", "2022-01-01T00:00:00"), policy=EXP, now=at(NOW)
    )
    assert plan.delete_names == ("2022-01-01T00:00:00",)
    assert plan.keep[0].reason == "newest good snapshot"


def test_unverified_never_displace_good_ones() -> None:
    good = snaps("2024-06-11T10:00:00", "2024-06-11T10:30:00")
    bad = snaps("2024-06-11T10:50:00", "2024-06-12T14:10:00", good=False)
    plan = plan_retention([*good, *bad], policy=EXP, now=at(NOW))
    # The hour 10:00 is represented by the newest *good* one; the unverified one that is
    # hours old is deleted; the one from 20 min ago may still be running.
    assert plan.delete_names == ("2024-06-11T10:00:00", "2024-06-11T10:50:00")
    reasons = {d.name: d.reason for d in (*plan.keep, *plan.delete)}
    assert reasons["2024-06-11T10:50:00"] == "never verified within 1:00:00"
    assert reasons["2024-06-12T14:10:00"].startswith("not verified yet")
    assert reasons["2024-06-11T10:30:00"] == "newest good snapshot"


def test_protected_snapshots_are_kept_under_both_policies() -> None:
    all_snaps = snaps("2024-01-01T00:00:00", "2024-06-12T14:00:00")
    old_bad = snaps("2024-01-02T00:00:00", good=False)
    protected = {"2024-01-01T00:00:00", "2024-01-02T00:00:00"}
    for policy in (EXP, LIMIT):
        plan = plan_retention(
            [*all_snaps, *old_bad], policy=policy, now=at(NOW), keep_last=1, protected=protected
        )
        assert plan.delete_names == ()
        assert {d.reason for d in plan.keep if d.name in protected} == {"protected: in use"}


def test_delete_reasons_explain_themselves() -> None:
    plan = plan_retention(
        snaps("2024-06-12T13:05:00", "2024-06-12T13:55:00", "2024-06-09T01:00:00",
              "2024-06-09T02:00:00", "2024-05-01T00:00:00"),
        policy=EXP,
        now=at(NOW),
    )  # fmt: skip
    assert [d.reason for d in plan.delete] == [
        "older than 4 weeks",
        "a newer snapshot represents its day (2024-06-09)",
        "a newer snapshot represents its hour (2024-06-12 13:00 UTC)",
    ]


@pytest.mark.parametrize("first", ["2024-05-01T00:10:00", "2024-05-01T13:45:00"])
def test_hourly_backups_for_forty_days_with_retention_every_hour(first: str) -> None:
    """Simulate the DAG: back up hourly, apply retention after each backup."""
    start = at(first)
    kept: list[Snapshot] = []
    now = start
    for hour in range(40 * 24):
        now = start + dt.timedelta(hours=hour)
        kept.append(Snapshot(name=now.isoformat(), created=now, good=True))
        gone = set(plan_retention(kept, policy=EXP, now=now).delete_names)
        kept = [s for s in kept if s.name not in gone]
    day = dt.timedelta(days=1)
    created = [s.created for s in kept]
    # The current hour plus the newest of each of the 23 earlier hours.
    assert len([c for c in created if now - c < day]) == 24
    # Every UTC day of the past week is represented, and only once beyond 24 hours.
    for date in {(now - dt.timedelta(hours=h)).date() for h in range(24, 7 * 24)}:
        assert any(c.date() == date for c in created), date
        assert len([c for c in created if c.date() == date and now - c >= day]) <= 1, date
    # Beyond a week: at most one per ISO week, nothing at or beyond 4 weeks.
    weeks = [c.isocalendar()[:2] for c in created if now - c >= 7 * day]
    assert len(weeks) == len(set(weeks))
    assert 2 <= len(weeks) <= 4
    assert all(now - c < dt.timedelta(weeks=4) for c in created)
    assert len(kept) <= 24 + 7 + 4


# --- limit based ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keep_last", "expected_deleted"),
    [
        (7, []),
        (3, ["2024-06-01T00:00:00", "2024-06-02T00:00:00"]),
        (
            1,
            [
                "2024-06-01T00:00:00",
                "2024-06-02T00:00:00",
                "2024-06-03T00:00:00",
                "2024-06-04T00:00:00",
            ],
        ),
    ],
)
def test_limit_based(keep_last: int, expected_deleted: list[str]) -> None:
    created = ["2024-06-03T00:00:00", "2024-06-01T00:00:00", "2024-06-05T00:00:00",
               "2024-06-02T00:00:00", "2024-06-04T00:00:00"]  # fmt: skip
    plan = plan_retention(snaps(*created), policy=LIMIT, now=at(NOW), keep_last=keep_last)
    assert list(plan.delete_names) == expected_deleted


def test_limit_based_counts_only_good_snapshots() -> None:
    good = snaps("2024-06-01T00:00:00", "2024-06-02T00:00:00")
    bad = snaps("2024-06-03T00:00:00", "2024-06-12T14:20:00", good=False)
    plan = plan_retention([*good, *bad], policy=LIMIT, now=at(NOW), keep_last=2)
    assert plan.delete_names == ("2024-06-03T00:00:00",)


@pytest.mark.parametrize(
    ("snapshots", "kwargs", "message"),
    [
        ([], {"policy": LIMIT, "now": at(NOW), "keep_last": 0}, "keep_last must be >= 1"),
        ([], {"policy": EXP, "now": dt.datetime(2024, 1, 1)}, "now must be timezone-aware"),
        (
            [Snapshot(name="a", created=dt.datetime(2024, 1, 1), good=True)],
            {"policy": EXP, "now": at(NOW)},
            "created must be timezone-aware",
        ),
        (snaps("2024-01-01T00:00:00") * 2, {"policy": EXP, "now": at(NOW)}, "duplicate"),
    ],
)
def test_bad_input(snapshots: list[Snapshot], kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan_retention(snapshots, **kwargs)  # type: ignore[arg-type]
