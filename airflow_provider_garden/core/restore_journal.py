"""The journal of an etcd restore: which phase it reached, and how to settle it.

A restore runs its phases in order (:data:`ORDER`); each is recorded after its side
effect is done and before the next one starts. A restore that dies leaves its
journal open; the next restore try settles it from the phase recorded and the data
directories found on the volume (:class:`Layout`), so nothing is left half-done:

- before ``Swapped`` the restored data was never proven to be in place: roll back
  (the previous data directory becomes ``data`` again, ``data.part`` is removed);
- at ``Swapped`` or ``Started`` the restored data is in place but unproven: start
  etcd and check it; roll back if it does not serve the snapshot's revision;
- at ``Healthy`` it was proven: finish (remove the previous directory, start
  kube-apiserver).

The previous data directory is renamed, never deleted, until etcd serving the
restored data is proven healthy. Pure: no I/O, no clock; times are passed in.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, replace

from airflow_provider_garden.core.fields import Field, FieldTable, Record
from airflow_provider_garden.core.status import wire


class Phase(enum.StrEnum):
    VERIFIED = "Verified"  # snapshot verified and fetched; nothing stopped yet
    STOPPED = "Stopped"  # kube-apiserver and etcd have no pods
    RESTORED_TO_PART = "RestoredToPart"  # etcdutl wrote a complete data.part
    SWAPPED = "Swapped"  # data is the restored one, the previous kept aside
    STARTED = "Started"  # etcd scaled up on the restored data
    HEALTHY = "Healthy"  # etcd serves the snapshot's revision
    # Closed: nothing is left to do.
    DONE = "Done"
    ROLLED_BACK = "RolledBack"


ORDER = (
    Phase.VERIFIED,
    Phase.STOPPED,
    Phase.RESTORED_TO_PART,
    Phase.SWAPPED,
    Phase.STARTED,
    Phase.HEALTHY,
)
CLOSED = frozenset({Phase.DONE, Phase.ROLLED_BACK})


class Dir(enum.StrEnum):
    """The data directories a restore handles, by role (names: :func:`dir_name`)."""

    DATA = "data"
    PART = "part"
    PREVIOUS = "previous"


class Direction(enum.StrEnum):
    ROLL_BACK = "RollBack"  # put the previous data back
    PROVE = "Prove"  # start etcd on the restored data and check it; roll back if it fails
    FINISH = "Finish"  # proven: drop the previous data, start kube-apiserver


class JournalError(Exception):
    """The journal or the volume is in a state no rule covers: a person must look."""


@dataclass(frozen=True, kw_only=True)
class RestoreJournal(Record):
    """``phase`` of the restore of ``snapshot`` (at ``revision``) started at ``started``.

    ``previous`` is the directory name the data before the restore is kept under;
    ``had_data`` says whether there was any (a shoot whose etcd never wrote has none).
    """

    FIELDS = FieldTable(
        Field("phase", wire.member_of(Phase)),
        Field("snapshot", wire.text),
        Field("revision", wire.integer),
        Field("previous", wire.text),
        Field("had_data", wire.flag),
        Field("started", wire.time, wire.time_text),
        Field("updated", wire.time, wire.time_text),
        Field("message", wire.text),
    )
    PATH = "restore journal"

    phase: Phase
    snapshot: str
    revision: int
    previous: str
    had_data: bool
    started: dt.datetime
    updated: dt.datetime
    message: str = ""

    @property
    def open(self) -> bool:
        return self.phase not in CLOSED

    def advance(self, phase: Phase, *, now: dt.datetime) -> RestoreJournal:
        """The journal at the next phase; skipping or going back is a bug (ValueError)."""
        if not self.open:
            raise ValueError(f"restore journal is closed ({self.phase}); start a new one")
        at = ORDER.index(self.phase)
        if at + 1 >= len(ORDER) or ORDER[at + 1] is not phase:
            raise ValueError(f"restore journal cannot go from {self.phase} to {phase}")
        return replace(self, phase=phase, updated=now)

    def close(self, phase: Phase, *, now: dt.datetime, message: str) -> RestoreJournal:
        if phase not in CLOSED:
            raise ValueError(f"{phase} does not close a restore journal")
        if phase is Phase.DONE and self.phase is not Phase.HEALTHY:
            raise ValueError(f"a restore at {self.phase} is not proven healthy: it is not done")
        return replace(self, phase=phase, updated=now, message=message)

    def refusal(self) -> str | None:
        """Why the control plane must not be scaled up by anyone but a restore, if so."""
        if not self.open:
            return None
        return (
            f"an etcd restore of snapshot {self.snapshot} is open at phase {self.phase} "
            f"(since {wire.time_text(self.started)}): run the restore again to finish "
            "or roll it back"
        )


def previous_name(started: dt.datetime) -> str:
    """Where a restore started at ``started`` keeps the data it replaces."""
    return "data.pre-restore-" + started.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


@dataclass(frozen=True)
class Layout:
    """Which of the restore's directories exist on the volume."""

    data: bool
    part: bool
    previous: bool

    def __str__(self) -> str:
        roles = {Dir.DATA: self.data, Dir.PART: self.part, Dir.PREVIOUS: self.previous}
        found = [d.value for d, there in roles.items() if there]
        return "{" + ", ".join(found) + "}"


@dataclass(frozen=True)
class Rename:
    source: Dir
    target: Dir


Step = Rename | Dir  # a Dir alone: remove that directory


def direction(journal: RestoreJournal) -> Direction:
    """What settling an open journal means, from its phase alone."""
    if not journal.open:
        raise ValueError(f"restore journal is closed ({journal.phase}): nothing to settle")
    if journal.phase is Phase.HEALTHY:
        return Direction.FINISH
    if ORDER.index(journal.phase) >= ORDER.index(Phase.SWAPPED):
        return Direction.PROVE
    return Direction.ROLL_BACK


def rollback_steps(journal: RestoreJournal, layout: Layout) -> list[Step]:
    """The renames and removals that put the previous data back as ``data``.

    Each step leaves a complete data directory on the volume (``data`` or the
    previous one), so a rollback that dies is rolled back again from where it was.
    """
    where = f"restore journal at {journal.phase} with directories {layout}"
    if layout.data and layout.part and layout.previous:
        raise JournalError(f"{where}: no restore step leaves all three")
    steps: list[Step] = []
    if layout.previous:
        if layout.data:  # both renames of the swap were done: data is the restored one
            steps.append(Rename(Dir.DATA, Dir.PART))
        steps.append(Rename(Dir.PREVIOUS, Dir.DATA))
        return [*steps, Dir.PART]
    if journal.had_data and not layout.data:
        raise JournalError(f"{where}: the data before the restore is missing")
    return [Dir.PART] if layout.part else []


def finish_steps(journal: RestoreJournal, layout: Layout) -> list[Step]:
    """After etcd was proven to serve the restored data: drop what it replaced."""
    if not layout.data or layout.part:
        raise JournalError(
            f"restore journal at {journal.phase} with directories {layout}: "
            "expected the restored data and no data.part"
        )
    return [Dir.PREVIOUS] if layout.previous else []


def proven(journal: RestoreJournal, *, revision: int) -> bool:
    """etcd serves the restored data: its revision is at least the snapshot's (an empty
    etcd answers 1). Not equal: etcd itself revokes the snapshot's expired leases
    (kube-apiserver's 15-s master lease) soon after it starts, which moves the revision."""
    return revision >= journal.revision


# The per-shoot object holding the journal, in the shoot's control-plane namespace:
# beside the etcd volume it describes, and gone with it.
JOURNAL_CONFIGMAP = "etcd-restore-journal"
JOURNAL_KEY = "journal.json"
