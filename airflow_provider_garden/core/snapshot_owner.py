"""Which shoot a snapshot belongs to, and which snapshot a restore may take.

A shoot's name (and so its store prefix) can be reused after a teardown; its UID
cannot. Every snapshot manifest records the UID of the shoot that wrote it, and every
choice made for one shoot (the default restore, the etcd init check, retention) looks
only at snapshots of that UID. Restoring another UID's snapshot (a deleted shoot's)
needs the caller to name that UID.

Snapshots written before manifests carried a UID are *unmarked*. They are treated as
foreign: nothing proves which incarnation of the name wrote them, and restoring the
wrong cluster silently replaces the right one, while skipping them costs at most one
backup period (the next backup is marked) and can be overridden by naming
:data:`UNMARKED` as the UID. Retention leaves them alone for the same reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# What a restore names to take a snapshot whose manifest records no shoot UID.
UNMARKED = "unmarked"


class SnapshotChoiceError(ValueError):
    """No snapshot may be restored as asked; the message says why."""


@dataclass(frozen=True, kw_only=True)
class OwnedSnapshot:
    """What a choice needs to know of one snapshot in a store."""

    key: str
    created: dt.datetime
    good: bool
    shoot_uid: str | None  # None: the manifest records none (or there is no manifest)

    @property
    def owner(self) -> str:
        return self.shoot_uid or UNMARKED


def of_uid(snapshots: Iterable[OwnedSnapshot], uid: str) -> list[OwnedSnapshot]:
    """The snapshots whose owner is ``uid`` (:data:`UNMARKED` selects the unmarked)."""
    return [s for s in snapshots if s.owner == uid]


def newest_good(snapshots: Sequence[OwnedSnapshot], *, shoot_uid: str) -> OwnedSnapshot | None:
    """The newest good snapshot written by the shoot with ``shoot_uid``, or None.

    The one rule for "this shoot's newest good snapshot": the default restore and the
    etcd init check both use it.
    """
    if not shoot_uid:
        raise SnapshotChoiceError("shoot_uid must not be empty: a snapshot's owner is its UID")
    good = [s for s in of_uid(snapshots, shoot_uid) if s.good]
    return max(good, key=lambda s: (s.created, s.key), default=None)


def choose_restore(
    snapshots: Sequence[OwnedSnapshot],
    *,
    shoot_uid: str,
    snapshot: str | None = None,
    from_uid: str | None = None,
) -> OwnedSnapshot:
    """The snapshot a restore of the shoot with ``shoot_uid`` takes.

    Default: :func:`newest_good` of this shoot. ``from_uid`` (another shoot's UID, or
    :data:`UNMARKED`) allows that owner instead; ``snapshot`` names one key, which must
    belong to the allowed owner. A refusal names the UIDs involved.
    """
    owner = from_uid or shoot_uid
    foreign = sorted({s.owner for s in snapshots if s.owner != owner})
    if snapshot:
        found = next((s for s in snapshots if s.key == snapshot), None)
        if found is None:
            raise SnapshotChoiceError(f"the store has no snapshot {snapshot!r}")
        if found.owner != owner:
            raise SnapshotChoiceError(
                f"snapshot {snapshot!r} belongs to shoot UID {found.owner}, not {owner}"
                + (
                    ""
                    if from_uid
                    else f" (this shoot); to restore it anyway set from_uid={found.owner}"
                )
            )
        if not found.good:
            raise SnapshotChoiceError(f"snapshot {snapshot!r} is not good (not verified)")
        return found
    chosen = newest_good(snapshots, shoot_uid=owner)
    if chosen is None:
        whose = f"shoot UID {owner}" + ("" if from_uid else " (this shoot)")
        others = f"; snapshots of other UIDs are ignored: {', '.join(foreign)}" if foreign else ""
        raise SnapshotChoiceError(f"no good snapshot of {whose} to restore from{others}")
    return chosen
