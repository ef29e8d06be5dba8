from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from airflow_provider_garden.core.maintenance import (
    in_window,
    kubernetes_version_patch,
    parse_time,
    parse_window,
    patch_update_target,
)
from airflow_provider_garden.core.spec_fields import SpecError

UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "hour", "offset_minutes"),
    [
        ("220000+0100", 22, 60),
        ("000000+0000", 0, 0),
        ("235959-0930", 23, -570),
        ("123000+0545", 12, 345),
    ],
)
def test_parse_time(value: str, hour: int, offset_minutes: int) -> None:
    parsed = parse_time(value)
    assert parsed.hour == hour
    assert parsed.utcoffset() == dt.timedelta(minutes=offset_minutes)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "2200+0100",
        "220000",
        "220000Z",
        "240000+0000",
        "226000+0000",
        "220060+0000",
        "220000+2400",
        "220000+0160",
        "22:00:00+01:00",
        " 220000+0100",
        "\uff12\uff120000+0100",  # full-width digits are not ASCII digits
    ],
)
def test_parse_time_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="is not HHMMSS\\+ZZZZ"):
        parse_time(value)


@pytest.mark.parametrize(
    ("begin", "end", "at", "inside"),
    [
        # 22:00-23:00 at +01:00 is 21:00-22:00 UTC; begin inclusive, end exclusive.
        ("220000+0100", "230000+0100", "2024-06-01T20:59:59", False),
        ("220000+0100", "230000+0100", "2024-06-01T21:00:00", True),
        ("220000+0100", "230000+0100", "2024-06-01T21:59:59.999999", True),
        ("220000+0100", "230000+0100", "2024-06-01T22:00:00", False),
        # Crossing midnight (local): 23:00-01:00 at +0000.
        ("230000+0000", "010000+0000", "2024-06-01T22:59:59", False),
        ("230000+0000", "010000+0000", "2024-06-01T23:00:00", True),
        ("230000+0000", "010000+0000", "2024-06-02T00:00:00", True),
        ("230000+0000", "010000+0000", "2024-06-02T00:59:59", True),
        ("230000+0000", "010000+0000", "2024-06-02T01:00:00", False),
        # Local times that do not cross midnight but whose UTC times do: 00:30-02:00 +0200.
        ("003000+0200", "020000+0200", "2024-06-01T22:29:59", False),
        ("003000+0200", "020000+0200", "2024-06-01T22:30:00", True),
        ("003000+0200", "020000+0200", "2024-06-01T23:59:59", True),
        ("003000+0200", "020000+0200", "2024-06-02T00:00:00", False),
        # Negative offset pushing the window into the next UTC day.
        ("220000-0500", "030000-0500", "2024-06-02T03:00:00", True),
        ("220000-0500", "030000-0500", "2024-06-02T07:59:59", True),
        ("220000-0500", "030000-0500", "2024-06-02T08:00:00", False),
        # Begin and end given in different offsets: 10:00 UTC to 11:00 UTC.
        ("120000+0200", "060000-0500", "2024-06-01T10:30:00", True),
        ("120000+0200", "060000-0500", "2024-06-01T11:00:00", False),
    ],
)
def test_in_window(begin: str, end: str, at: str, inside: bool) -> None:
    assert in_window(parse_window(begin, end), utc(at)) is inside


def test_at_may_be_given_in_any_zone() -> None:
    window = parse_window("220000+0100", "230000+0100")
    tokyo = dt.timezone(dt.timedelta(hours=9))
    assert in_window(window, dt.datetime(2024, 6, 2, 6, 30, tzinfo=tokyo))  # 21:30 UTC
    assert not in_window(window, dt.datetime(2024, 6, 2, 7, 0, tzinfo=tokyo))


@pytest.mark.parametrize(
    ("local", "inside"),
    [
        # Window 02:00-03:00 +0100 is always 01:00-02:00 UTC. Across the European switch
        # to summer time (2024-03-31 01:00 UTC) it moves by an hour on Berlin's clock.
        ("2024-03-30T02:30", True),  # CET: 01:30 UTC
        ("2024-03-30T03:30", False),  # CET: 02:30 UTC
        ("2024-04-01T02:30", False),  # CEST: 00:30 UTC
        ("2024-04-01T03:30", True),  # CEST: 01:30 UTC
        # And back at the switch to winter time (2024-10-27 01:00 UTC).
        ("2024-10-26T03:30", True),  # CEST: 01:30 UTC
        ("2024-10-28T02:30", True),  # CET: 01:30 UTC
        ("2024-10-28T03:30", False),  # CET: 02:30 UTC
    ],
)
def test_dst_observing_zone_sees_the_fixed_offset_window_move(local: str, inside: bool) -> None:
    window = parse_window("020000+0100", "030000+0100")
    at = dt.datetime.fromisoformat(local).replace(tzinfo=BERLIN)
    assert in_window(window, at) is inside


def test_dst_night_itself() -> None:
    # On 2024-03-31 Berlin's clock jumps 02:00 -> 03:00 at 01:00 UTC: the window
    # 01:00-02:00 UTC is 03:00-04:00 local that night.
    window = parse_window("020000+0100", "030000+0100")
    assert in_window(window, dt.datetime(2024, 3, 31, 3, 0, tzinfo=BERLIN))
    assert in_window(window, dt.datetime(2024, 3, 31, 3, 59, 59, tzinfo=BERLIN))
    assert not in_window(window, dt.datetime(2024, 3, 31, 4, 0, tzinfo=BERLIN))


@pytest.mark.parametrize(
    ("begin", "end", "ok"),
    [
        ("220000+0100", "223000+0100", True),  # exactly 30 min
        ("220000+0100", "222959+0100", False),  # 29:59
        ("220000+0100", "040000+0100", True),  # exactly 6 h across midnight
        ("220000+0100", "040001+0100", False),  # 6 h 1 s
        ("220000+0100", "220000+0100", False),  # begin == end: 24 h
        ("230000+0100", "220000+0100", False),  # 23 h across midnight
        ("220000+0100", "220000+0000", True),  # 1 h by offsets alone
        ("000000+0000", "003000+0000", True),
        ("233000+0000", "000000+0000", True),  # 30 min ending at midnight
    ],
)
def test_window_length_limits(begin: str, end: str, ok: bool) -> None:
    if ok:
        parse_window(begin, end)
    else:
        with pytest.raises(ValueError, match="it must last from 0:30:00 to 6:00:00"):
            parse_window(begin, end)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2024-06-01T12:00:00", "2024-06-01T21:00:00"),
        ("2024-06-01T21:00:00", "2024-06-01T21:00:00"),  # at a start: that start
        ("2024-06-01T21:00:01", "2024-06-02T21:00:00"),  # inside: the next day's
        ("2024-06-01T23:00:00", "2024-06-02T21:00:00"),
        ("2024-12-31T22:00:00", "2025-01-01T21:00:00"),  # across the year
    ],
)
def test_next_start(at: str, expected: str) -> None:
    window = parse_window("220000+0100", "230000+0100")
    assert window.next_start(utc(at)) == utc(expected)


def test_current_occurrence_bounds() -> None:
    window = parse_window("230000+0000", "010000+0000")
    assert window.current(utc("2024-06-02T00:15:00")) == (
        utc("2024-06-01T23:00:00"),
        utc("2024-06-02T01:00:00"),
    )
    assert window.current(utc("2024-06-02T12:00:00")) is None


def test_naive_datetime_is_rejected() -> None:
    window = parse_window("220000+0100", "230000+0100")
    with pytest.raises(ValueError, match="no time zone"):
        in_window(window, dt.datetime(2024, 6, 1, 21, 30))


OFFERED = ["1.31.4", "1.31.6", "1.32.0", "1.32.2", "1.32.5", "1.33.1", "1.33.0"]


@pytest.mark.parametrize(
    ("current", "offered", "auto_update", "target"),
    [
        ("1.32.2", OFFERED, True, "1.32.5"),  # newest patch of the same minor
        ("1.32.2", OFFERED, False, None),  # offered, no auto update: stay
        ("1.32.5", OFFERED, True, None),  # already newest
        ("1.32.3", OFFERED, False, "1.32.5"),  # expired: updated anyway
        ("1.32.9", OFFERED, False, "1.33.1"),  # expired, no newer patch: next minor
        ("1.32.9", OFFERED, True, "1.33.1"),
        ("1.33.1", OFFERED, True, None),  # never jumps minor when offered
        ("1.30.9", OFFERED, False, "1.31.6"),  # expired minor: newest of the next minor
        ("1.30.1", ["1.31.0", "1.31.2"], False, "1.31.2"),
        ("1.29.1", ["1.31.2"], False, None),  # no path: caller reports it
        ("1592.2", ["1592.1", "1592.4", "1593.0"], True, "1592.4"),  # two-part image versions
        ("1592.9", ["1592.4", "1593.0", "1593.1"], False, "1593.1"),
        ("1.32.10", ["1.32.9", "1.32.10", "1.32.11"], True, "1.32.11"),  # numeric, not lexical
        ("v1.32.2", ["v1.32.2", "v1.32.4"], True, "v1.32.4"),  # spelled as offered
        ("1.32.2", ["v1.32.2", "v1.32.4"], False, None),  # "v" does not make it expired
    ],
)
def test_patch_update_target(
    current: str, offered: list[str], auto_update: bool, target: str | None
) -> None:
    assert patch_update_target(current, offered, auto_update=auto_update) == target


@pytest.mark.parametrize(
    ("current", "offered"),
    [
        ("V1.32.1", ["1.32.1"]),
        ("", ["1.32.1"]),
        ("1.32.1", ["1.32.1", "latest"]),
        ("1.32.1", ["1.32.x"]),
        ("1.32.1", ["1.32.1-rc.1"]),
    ],
)
def test_patch_update_target_rejects_garbage(current: str, offered: list[str]) -> None:
    with pytest.raises(ValueError, match="is not a version"):
        patch_update_target(current, offered, auto_update=True)


# --- the patch update's write: a compare-and-swap ------------------------------------


def _shoot(version: str) -> dict[str, object]:
    return {
        "metadata": {"name": "dev", "namespace": "garden-team", "resourceVersion": "41"},
        "spec": {"kubernetes": {"version": version}},
    }


@pytest.mark.parametrize(
    ("spec_version", "planned_from", "patch"),
    [
        ("1.32.13", "1.32.11", None),  # already asked for: nothing to write
        (
            "1.32.11",
            "1.32.11",
            {"metadata": {"resourceVersion": "41"}, "spec": {"kubernetes": {"version": "1.32.13"}}},
        ),
        (
            "1.32.11",
            None,  # no plan to compare with: only the resourceVersion guards it
            {"metadata": {"resourceVersion": "41"}, "spec": {"kubernetes": {"version": "1.32.13"}}},
        ),
    ],
)
def test_kubernetes_version_patch(
    spec_version: str, planned_from: str | None, patch: dict[str, object] | None
) -> None:
    shoot = _shoot(spec_version)
    assert kubernetes_version_patch(shoot, "1.32.13", planned_from=planned_from) == patch
    assert shoot == _shoot(spec_version)  # the read Shoot is not changed


def test_kubernetes_version_patch_refuses_a_spec_changed_since_the_plan() -> None:
    with pytest.raises(SpecError) as err:
        kubernetes_version_patch(_shoot("1.33.1"), "1.32.13", planned_from="1.32.11")
    [problem] = err.value.errors
    assert problem.path == "spec.kubernetes.version"
    assert "1.32.11 -> 1.32.13 was planned" in problem.rule
    assert "now asks for 1.33.1; not overwritten" in problem.rule
    assert "team/dev" in str(err.value)


# -- windows restricted to weekdays and with excluded dates ----------------------------
def test_a_window_opens_only_on_its_weekdays_on_the_calendar_of_its_offset() -> None:
    # 23:00 at -01:00 is 00:00 UTC the next day: Friday's window opens Saturday in UTC.
    window = parse_window("230000-0100", "000000-0100", weekdays=["Fri"])
    friday_local = dt.datetime(2026, 12, 5, 0, 30, tzinfo=dt.UTC)  # Sat UTC, Fri at -01:00
    assert window.current(friday_local) is not None
    assert window.current(friday_local + dt.timedelta(days=1)) is None
    assert window.next_start(friday_local + dt.timedelta(hours=1)) == dt.datetime(
        2026, 12, 12, 0, 0, tzinfo=dt.UTC
    )


def test_an_excluded_date_is_skipped() -> None:
    window = parse_window("030000+0000", "040000+0000", exclusions=["2026-12-24"])
    eve = dt.datetime(2026, 12, 24, 3, 30, tzinfo=dt.UTC)
    assert window.current(eve) is None
    assert window.current(eve + dt.timedelta(days=1)) is not None
    assert window.next_start(eve - dt.timedelta(hours=1)) == dt.datetime(
        2026, 12, 25, 3, 0, tzinfo=dt.UTC
    )


@pytest.mark.parametrize(
    ("kwargs", "said"),
    [
        ({"weekdays": ["Monday"]}, "weekdays ['Monday'] are not among Mon, Tue"),
        ({"exclusions": ["24.12.2026"]}, "exclusion '24.12.2026' is not a date YYYY-MM-DD"),
    ],
)
def test_bad_days_are_refused(kwargs: dict[str, list[str]], said: str) -> None:
    with pytest.raises(ValueError, match=re.escape(said)):
        parse_window("030000+0000", "040000+0000", **kwargs)
