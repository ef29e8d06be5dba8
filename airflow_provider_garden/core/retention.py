"""etcd snapshot names and retention, as pure functions of the snapshot list and ``now``.

Names follow etcd-backup-restore: ``Backup-<unix ts>/Full-<start:08d>-<end:08d>-<unix ts>``
with ``.gz`` when compressed; a backup writes them with a unique tail,
``...-<unix ts>-<microseconds:06d>-<8 hex nonce>[.gz]``, because two backups of one
shoot may run at once (two DagRuns, a manual one beside the scheduled one; backups
do not take the operation Lease) and, at the same revision in the same second, would
otherwise write each other's object and manifest under one key. Names without the
tail (stores written before it) are read as before. Retention policies (REQUIREMENTS.md):

* Exponential: keep the newest good full snapshot; every full of the current hour;
  the newest full of each hour for 24 hours, of each day for 7 days, of each week for
  4 weeks; delete the rest. Hours, days and (ISO, Monday-first) weeks are UTC calendar
  buckets, and "newest of a bucket" is judged among all good snapshots in it, so the
  snapshot that represents a day is the one that represented that day's last hour:
  ageing never leaves a gap that an earlier run already filled.
* LimitBased: keep the newest N good full snapshots (default 7).

Under both, snapshots in ``protected`` (e.g. being restored from) and the newest good
snapshot are never deleted. A snapshot that is not (yet) verified is kept for a grace
period, because its backup may still be running, and deleted afterwards: a verified
snapshot never loses its place to one that was not.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from .shoot_spec import DEFAULT_MAX_BACKUPS, RetentionPolicy

UNVERIFIED_GRACE = dt.timedelta(hours=1)
_HOUR = dt.timedelta(hours=1)
_HOURLY_FOR = dt.timedelta(hours=24)
_DAILY_FOR = dt.timedelta(days=7)
_WEEKLY_FOR = dt.timedelta(weeks=4)
_NAME = re.compile(
    r"Backup-(?P<dir>[0-9]{1,12})/Full-(?P<start>[0-9]{8,19})-(?P<end>[0-9]{8,19})"
    r"-(?P<ts>[0-9]{1,12})(?:-(?P<usec>[0-9]{6})-(?P<nonce>[0-9a-f]{8}))?(?P<gz>\.gz)?",
    re.ASCII,
)
NONCE_BYTES = 4  # 8 hex digits: one collision in ~4e9 backups of one shoot in one microsecond


@dataclass(frozen=True, kw_only=True)
class SnapshotName:
    start_revision: int
    end_revision: int
    created: dt.datetime  # to the microsecond in a unique name, to the second otherwise
    compressed: bool
    nonce: str | None = None  # None: a name written before names were unique

    def __str__(self) -> str:
        return snapshot_name(
            self.start_revision,
            self.end_revision,
            self.created,
            compressed=self.compressed,
            nonce=self.nonce,
        )


def snapshot_name(
    start_rev: int,
    end_rev: int,
    created: dt.datetime,
    compressed: bool,
    nonce: str | None = None,
) -> str:
    """``Backup-<ts>/Full-<start:08d>-<end:08d>-<ts>[.gz]`` with ``ts`` in Unix seconds;
    with ``nonce``, ``<ts>`` is followed by ``-<microseconds:06d>-<nonce>``."""
    if created.tzinfo is None:
        raise ValueError("created must be timezone-aware")
    if not 0 <= start_rev <= end_rev:
        raise ValueError(f"revisions must satisfy 0 <= start <= end, got {start_rev}, {end_rev}")
    if nonce is not None and not re.fullmatch(r"[0-9a-f]{8}", nonce, re.ASCII):
        raise ValueError(f"nonce must be 8 lowercase hex digits, got {nonce!r}")
    ts = int(created.timestamp())
    tail = f"-{created.microsecond:06d}-{nonce}" if nonce else ""
    return f"Backup-{ts}/Full-{start_rev:08d}-{end_rev:08d}-{ts}{tail}{'.gz' if compressed else ''}"


def unique_snapshot_name(
    start_rev: int, end_rev: int, created: dt.datetime, compressed: bool
) -> str:
    """A name no other backup takes, even of the same revision in the same microsecond
    (random nonce): what a backup writes. Names still sort by time (``created`` to the
    microsecond), and its manifest names exactly this one object."""
    return snapshot_name(
        start_rev, end_rev, created, compressed, nonce=secrets.token_hex(NONCE_BYTES)
    )


def parse_snapshot_name(key: str) -> SnapshotName:
    """Parse a name made by :func:`snapshot_name`; anything else raises ValueError.

    The whole key must match, so path traversal (``../``), absolute paths, other
    directories and foreign files are rejected rather than trimmed.
    """
    match = _NAME.fullmatch(key)
    if not match:
        raise ValueError(
            f"{key!r} is not a snapshot name like "
            "Backup-<ts>/Full-<start>-<end>-<ts>[-<usec>-<nonce>][.gz]"
        )
    start, end, ts = int(match["start"]), int(match["end"]), int(match["ts"])
    if match["dir"] != match["ts"]:
        raise ValueError(f"{key!r}: directory and file timestamps differ")
    if start > end:
        raise ValueError(f"{key!r}: start revision {start} is after end revision {end}")
    created = dt.datetime.fromtimestamp(ts, dt.UTC)
    if match["usec"]:
        created += dt.timedelta(microseconds=int(match["usec"]))
    return SnapshotName(
        start_revision=start,
        end_revision=end,
        created=created,
        compressed=match["gz"] is not None,
        nonce=match["nonce"],
    )


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    name: str
    created: dt.datetime
    good: bool  # verified: hash and revision checked, checksum re-read after upload


@dataclass(frozen=True, kw_only=True)
class Decision:
    name: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class RetentionPlan:
    keep: tuple[Decision, ...]
    delete: tuple[Decision, ...]

    @property
    def delete_names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.delete)


def plan_retention(
    snapshots: Sequence[Snapshot],
    *,
    policy: RetentionPolicy,
    now: dt.datetime,
    keep_last: int = DEFAULT_MAX_BACKUPS,
    protected: Collection[str] = (),
    unverified_grace: dt.timedelta = UNVERIFIED_GRACE,
) -> RetentionPlan:
    """Decide, with a reason for each, which snapshots to keep and which to delete.

    ``keep_last`` applies to LimitBased only. Both lists are ordered oldest first.
    """
    _check_input(snapshots, now)
    if policy is RetentionPolicy.LIMIT_BASED and keep_last < 1:
        raise ValueError(f"keep_last must be >= 1, got {keep_last}")
    good = sorted((s for s in snapshots if s.good), key=lambda s: s.created, reverse=True)
    reasons: dict[str, str | None] = {}  # None: delete
    for index, snap in enumerate(good):
        if policy is RetentionPolicy.LIMIT_BASED:
            reasons[snap.name] = f"one of the newest {keep_last}" if index < keep_last else None
        else:
            reasons[snap.name] = _exponential_reason(snap, good, now)
    if good:
        reasons[good[0].name] = "newest good snapshot"
    keep: list[tuple[Snapshot, str]] = []
    delete: list[tuple[Snapshot, str]] = []
    for snap in sorted(snapshots, key=lambda s: (s.created, s.name)):
        if snap.name in protected:
            keep.append((snap, "protected: in use"))
        elif not snap.good:
            if now - snap.created < unverified_grace:
                keep.append((snap, "not verified yet; its backup may still be running"))
            else:
                delete.append((snap, f"never verified within {unverified_grace}"))
        elif reason := reasons[snap.name]:
            keep.append((snap, reason))
        else:
            delete.append((snap, _delete_reason(snap, policy, now, keep_last)))
    return RetentionPlan(
        keep=tuple(Decision(name=s.name, reason=r) for s, r in keep),
        delete=tuple(Decision(name=s.name, reason=r) for s, r in delete),
    )


def _exponential_reason(
    snap: Snapshot, good_newest_first: Sequence[Snapshot], now: dt.datetime
) -> str | None:
    age = now - snap.created
    if snap.created >= _floor_hour(now):
        return "taken in the current hour"
    tiers: tuple[tuple[dt.timedelta, str, Callable[[dt.datetime], object]], ...] = (
        (_HOURLY_FOR, "hour", _floor_hour),
        (_DAILY_FOR, "day", lambda t: t.astimezone(dt.UTC).date()),
        (_WEEKLY_FOR, "week", lambda t: t.astimezone(dt.UTC).isocalendar()[:2]),
    )
    for limit, unit, bucket in tiers:
        if age < limit:
            newest = next(s for s in good_newest_first if bucket(s.created) == bucket(snap.created))
            if newest is snap:
                return f"newest of its {unit} ({_label(unit, snap.created)})"
    return None


def _delete_reason(
    snap: Snapshot, policy: RetentionPolicy, now: dt.datetime, keep_last: int
) -> str:
    if policy is RetentionPolicy.LIMIT_BASED:
        return f"older than the newest {keep_last}"
    age = now - snap.created
    if age >= _WEEKLY_FOR:
        return "older than 4 weeks"
    unit = "hour" if age < _HOURLY_FOR else "day" if age < _DAILY_FOR else "week"
    return f"a newer snapshot represents its {unit} ({_label(unit, snap.created)})"


def _label(unit: str, when: dt.datetime) -> str:
    utc = when.astimezone(dt.UTC)
    if unit == "hour":
        return utc.strftime("%Y-%m-%d %H:00 UTC")
    if unit == "day":
        return utc.strftime("%Y-%m-%d")
    year, week, _ = utc.isocalendar()
    return f"{year}-W{week:02d}"


def _floor_hour(when: dt.datetime) -> dt.datetime:
    return when.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def _check_input(snapshots: Sequence[Snapshot], now: dt.datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    names = set()
    for snap in snapshots:
        if snap.created.tzinfo is None:
            raise ValueError(f"{snap.name}: created must be timezone-aware")
        if snap.name in names:
            raise ValueError(f"duplicate snapshot name {snap.name!r}")
        names.add(snap.name)
