"""Maintenance windows (``HHMMSS+ZZZZ``) and patch-version update targets.

A window is a daily interval given as two times of day, each with a *fixed* UTC
offset, as in Gardener. ``220000+0100`` means 21:00 UTC every day of the year: the
offset is part of the string, so a region that observes daylight saving time sees
the window move by an hour on its local clock twice a year. That is deliberate and
predictable; nothing here consults a time-zone database.

Unlike Gardener (whose ``Contains`` includes the end second) the end is exclusive,
so back-to-back windows never both contain the same instant and an hourly DAG run
at the end of a window does not start work that is due to stop.

Beyond Gardener, a window may open only on some weekdays and never on excluded dates;
both are read on the calendar of the begin time's offset (the day the window opens).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .naming import shoot_key
from .shoot_spec import Maintenance
from .spec_fields import FieldError, SpecError

MIN_WINDOW = dt.timedelta(minutes=30)
MAX_WINDOW = dt.timedelta(hours=6)
_DAY = dt.timedelta(days=1)
_TIME = re.compile(
    r"([01][0-9]|2[0-3])([0-5][0-9])([0-5][0-9])([+-])([01][0-9]|2[0-3])([0-5][0-9])"
)
_VERSION = re.compile(r"v?[0-9]+(\.[0-9]+)+")
KUBERNETES_VERSION_FIELD = "spec.kubernetes.version"


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, kw_only=True)
class MaintenanceWindow:
    """A daily window: it opens ``begin_utc`` after 00:00 UTC and stays open ``length``;
    only on ``weekdays`` (0 = Monday; empty: every day) and never on ``exclusions``, as
    dates in the ``offset`` of its begin time."""

    begin_utc: dt.timedelta
    length: dt.timedelta
    offset: dt.timedelta = dt.timedelta(0)
    weekdays: frozenset[int] = frozenset()
    exclusions: frozenset[dt.date] = frozenset()

    def current(self, at: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
        """The occurrence [start, end) that contains ``at``, or None."""
        since_begin = _since_begin(self, at)
        if since_begin >= self.length:
            return None
        start = at.astimezone(dt.UTC) - since_begin
        return (start, start + self.length) if self._opens(start) else None

    def next_start(self, at: dt.datetime) -> dt.datetime:
        """The earliest window start at or after ``at`` (in UTC)."""
        since_begin = _since_begin(self, at)
        wait = dt.timedelta(0) if since_begin == dt.timedelta(0) else _DAY - since_begin
        start = at.astimezone(dt.UTC) + wait
        for _ in range(7 + len(self.exclusions)):  # a week past every exclusion
            if self._opens(start):
                return start
            start += _DAY
        raise ValueError("the window never opens: its weekdays are all excluded dates")

    def _opens(self, start: dt.datetime) -> bool:
        day = (start + self.offset).date()
        return (not self.weekdays or day.weekday() in self.weekdays) and (
            day not in self.exclusions
        )


def parse_time(value: str) -> dt.time:
    """Parse ``HHMMSS+ZZZZ`` into a time of day carrying its fixed UTC offset."""
    match = _TIME.fullmatch(value)
    if not match:
        raise ValueError(f"{value!r} is not HHMMSS+ZZZZ (e.g. 220000+0100)")
    hour, minute, second, sign, off_h, off_m = match.groups()
    offset = dt.timedelta(hours=int(off_h), minutes=int(off_m)) * (-1 if sign == "-" else 1)
    return dt.time(int(hour), int(minute), int(second), tzinfo=dt.timezone(offset))


def parse_window(
    begin: str, end: str, *, weekdays: Sequence[str] = (), exclusions: Sequence[str] = ()
) -> MaintenanceWindow:
    """Parse a window; it must last from 30 minutes to 6 hours and may cross midnight.

    ``begin == end`` would be a 24-hour window and is rejected by the length limit.
    ``weekdays`` (``Mon`` .. ``Sun``) and ``exclusions`` (``YYYY-MM-DD``) restrict the days
    it opens on.
    """
    opens = parse_time(begin)
    begin_utc = _utc_time_of_day(opens)
    length = (_utc_time_of_day(parse_time(end)) - begin_utc) % _DAY or _DAY
    if not MIN_WINDOW <= length <= MAX_WINDOW:
        raise ValueError(
            f"window {begin}-{end} lasts {length}; it must last from {MIN_WINDOW} to {MAX_WINDOW}"
        )
    unknown = [d for d in weekdays if d not in WEEKDAYS]
    if unknown:
        raise ValueError(f"weekdays {unknown} are not among {', '.join(WEEKDAYS)}")
    dates = set()
    for text in exclusions:
        try:
            dates.add(dt.date.fromisoformat(text))
        except ValueError:
            raise ValueError(f"exclusion {text!r} is not a date YYYY-MM-DD") from None
    offset = opens.utcoffset()
    assert offset is not None  # parse_time always sets one
    return MaintenanceWindow(
        begin_utc=begin_utc,
        length=length,
        offset=offset,
        weekdays=frozenset(WEEKDAYS.index(d) for d in weekdays),
        exclusions=frozenset(dates),
    )


def window_of(maintenance: Maintenance) -> MaintenanceWindow:
    """The window of a spec's ``maintenance``."""
    return parse_window(
        maintenance.begin,
        maintenance.end,
        weekdays=maintenance.weekdays,
        exclusions=maintenance.exclusions,
    )


def in_window(window: MaintenanceWindow, at: dt.datetime) -> bool:
    """Whether ``at`` (timezone-aware) lies in [begin, end) of some day."""
    return window.current(at) is not None


def patch_update_target(
    current: str,
    offered: Sequence[str],
    *,
    auto_update: bool,
    usable: Sequence[str] | None = None,
) -> str | None:
    """The version to update to, or None to stay.

    ``offered`` are the versions maintenance may choose (supported and deprecated ones);
    ``usable`` those a shoot may stay on (default: ``offered``; a preview version is
    usable, not offered). With ``auto_update`` the newest offered patch of the same
    minor (all components but the last equal: ``1.32.x``, or ``1592.x`` for a two-part
    image version) is the target. A version not usable is updated even without
    ``auto_update`` (it is expired); if its minor has no newer patch, like Gardener the
    target is the newest patch of the next minor.
    """
    now = version_tuple(current)
    # Returned as spelled in `offered`, so "v1.32.5" stays "v1.32.5".
    spelled = {version_tuple(v): v for v in offered}
    versions = sorted(spelled)
    stays = now in ({version_tuple(v) for v in usable} if usable is not None else spelled)
    if stays and not auto_update:
        return None
    same_minor = [v for v in versions if v[:-1] == now[:-1] and v > now]
    if same_minor:
        return spelled[same_minor[-1]]
    if stays:
        return None
    next_minor = (*now[:-2], now[-2] + 1)
    candidates = [v for v in versions if v[:-1] == next_minor]
    return spelled[candidates[-1]] if candidates else None


def kubernetes_version_patch(
    shoot: Mapping[str, Any], version: str, *, planned_from: str | None
) -> dict[str, Any] | None:
    """The merge patch that sets a Shoot's Kubernetes version to ``version``, or None when
    its spec already names it. A compare-and-swap twice over: ``planned_from`` is the
    version the spec named when the update was planned, and a spec that names another
    now (someone changed it since) is refused, naming the field, rather than overwritten;
    the patch carries the Shoot's resourceVersion, so an edit between this read and the
    write fails it (409) too."""
    current = ((shoot.get("spec") or {}).get("kubernetes") or {}).get("version")
    if current == version:
        return None
    if planned_from is not None and current != planned_from:
        raise SpecError(
            f"Shoot {shoot_key(shoot)}",
            [
                FieldError(
                    KUBERNETES_VERSION_FIELD,
                    f"changed since the update {planned_from} -> {version} was planned: the "
                    f"spec now asks for {current}; not overwritten",
                )
            ],
        )
    return {
        "metadata": {"resourceVersion": shoot["metadata"]["resourceVersion"]},
        "spec": {"kubernetes": {"version": version}},
    }


def _since_begin(window: MaintenanceWindow, at: dt.datetime) -> dt.timedelta:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at!r} has no time zone; pass an aware datetime")
    # A plain datetime even when handed a subclass (Airflow passes pendulum's).
    utc = dt.datetime.fromtimestamp(at.timestamp(), dt.UTC)
    time_of_day = utc - utc.replace(hour=0, minute=0, second=0, microsecond=0)
    return (time_of_day - window.begin_utc) % _DAY


def _utc_time_of_day(value: dt.time) -> dt.timedelta:
    local = dt.timedelta(hours=value.hour, minutes=value.minute, seconds=value.second)
    offset = value.utcoffset()
    assert offset is not None  # parse_time always sets one
    return (local - offset) % _DAY


def version_tuple(value: str) -> tuple[int, ...]:
    """``1.32.3`` or ``v1.32.3`` as (1, 32, 3)."""
    if not _VERSION.fullmatch(value):
        raise ValueError(f"{value!r} is not a version like 1.32.3")
    return tuple(int(part) for part in value.removeprefix("v").split("."))
