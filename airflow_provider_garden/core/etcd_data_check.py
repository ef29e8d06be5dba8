"""Whether etcd may start on its data directory, judged against the newest good backup.

The init step of the etcd pod (``garden-agent etcd check-data``) observes the data
directory and this shoot's newest good snapshot (``snapshot_owner.newest_good`` of the
shoot's UID: snapshots of another UID, such as a deleted shoot of the same name whose
backups are kept, or unmarked ones, are never this shoot's history); :func:`decide`
says what to do, as etcd-backup-restore's initializer does before it lets etcd start:

* no backup of this shoot yet (a brand-new shoot): start, empty or not;
* the data directory has no database while a good backup exists, or its revision is
  older than the newest good backup's: the data were lost. Refuse (the pod never starts
  etcd, the Shoot gets ERR_ETCD_DATA_LOST), or with ``spec.backup.autoRestore`` restore
  the newest good snapshot first;
* otherwise start.

A data directory restored from a snapshot carries a :class:`RestoredFrom` record. Only
backups taken after that restore belong to its history: restoring an older snapshot on
purpose is not a loss, and an etcd restarted on it before the next backup starts.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .fields import Field, FieldTable, Record
from .status import ErrorCode

#: Written into a restored data directory (etcd only warns about files it does not know).
RESTORED_FROM_FILE = "garden-restored-from.json"
#: The etcd pod's init container that runs the check.
INIT_CONTAINER = "etcd-data-check"
#: What the init container's termination message says when it refuses.
REFUSED = "Refused"
#: The StatefulSet controller's label: which template revision a pod was made from.
REVISION_LABEL = "controller-revision-hash"


class Verdict(enum.StrEnum):
    START = "Start"
    REFUSE = "Refuse"
    RESTORE = "Restore"


def _snapshot_key(data: Mapping[str, Any], key: str, path: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{path}: {key} must be a non-empty string")
    return value


def _revision(data: Mapping[str, Any], key: str, path: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{path}: {key} must be an integer >= 0")
    return value


def _aware_time(data: Mapping[str, Any], key: str, path: str) -> dt.datetime:
    value = data.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{path}: {key} must be a time")
    when = dt.datetime.fromisoformat(value)
    if when.tzinfo is None:
        raise ValueError(f"{path}: {key} has no time zone")
    return when


@dataclass(frozen=True, kw_only=True)
class RestoredFrom(Record):
    """Which snapshot a data directory was restored from, and when. Reading raises
    ValueError naming the field that is missing or of the wrong type."""

    FIELDS = FieldTable(
        Field("snapshot", _snapshot_key),
        Field("revision", _revision),
        Field("restored", _aware_time, lambda at: at.astimezone(dt.UTC).isoformat()),
    )
    PATH = RESTORED_FROM_FILE

    snapshot: str
    revision: int
    restored: dt.datetime


@dataclass(frozen=True, kw_only=True)
class DataDir:
    """The data directory as observed while etcd is not running.

    :param revision: the database's revision; None when there is no database.
    :param restored_from: the record a restore left in it, if any.
    """

    revision: int | None
    restored_from: RestoredFrom | None = None

    @property
    def empty(self) -> bool:
        return self.revision is None


@dataclass(frozen=True, kw_only=True)
class GoodBackup:
    key: str
    revision: int
    created: dt.datetime


@dataclass(frozen=True, kw_only=True)
class Decision:
    verdict: Verdict
    reason: str
    snapshot: str | None = None  # the one to restore (RESTORE), or compared with

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"verdict": self.verdict.value, "reason": self.reason}
        if self.snapshot:
            out["snapshot"] = self.snapshot
        if self.verdict is Verdict.REFUSE:
            out["state"] = REFUSED
            out["code"] = ErrorCode.ETCD_DATA_LOST.value
        return out


def baseline(data: DataDir, newest: GoodBackup | None) -> GoodBackup | None:
    """The backup to compare the data directory with: the shoot's newest good one, unless
    it was taken before the data were restored (then nothing is: no loss can be judged)."""
    since = data.restored_from.restored if data.restored_from else None
    if newest is None or (since is not None and newest.created < since):
        return None
    return newest


def decide(data: DataDir, newest: GoodBackup | None, *, auto_restore: bool) -> Decision:
    """What the init step does; ``newest``: this shoot's newest good backup (its UID's)."""
    if data.empty:
        if newest is None:
            return Decision(
                verdict=Verdict.START, reason="no data and no backup of this shoot yet: a new etcd"
            )
        lost = (
            f"the data directory has no database, but good backup {newest.key} "
            f"(revision {newest.revision}) exists"
        )
        return _lost(lost, newest, auto_restore=auto_restore)
    assert data.revision is not None
    compared = baseline(data, newest)
    if compared is None:
        return Decision(
            verdict=Verdict.START,
            reason=f"data at revision {data.revision}; no backup of it to compare with",
        )
    if data.revision < compared.revision:
        lost = (
            f"the data directory is at revision {data.revision}, older than good backup "
            f"{compared.key} (revision {compared.revision})"
        )
        return _lost(lost, compared, auto_restore=auto_restore)
    return Decision(
        verdict=Verdict.START,
        reason=f"data at revision {data.revision} >= {compared.revision} of {compared.key}",
        snapshot=compared.key,
    )


def _lost(what: str, newest: GoodBackup, *, auto_restore: bool) -> Decision:
    if auto_restore:
        return Decision(
            verdict=Verdict.RESTORE,
            reason=f"{what}; spec.backup.autoRestore: restoring {newest.key}",
            snapshot=newest.key,
        )
    return Decision(
        verdict=Verdict.REFUSE,
        reason=(
            f"{what}: etcd is not started, so the next backup cannot record an empty or older "
            "cluster as the newest. Restore the shoot (garden_restore) or set "
            "spec.backup.autoRestore: true"
        ),
        snapshot=newest.key,
    )


def refusal(message: str) -> str | None:
    """The reason from an init container's termination message, when it says it refused."""
    try:
        parsed = json.loads(message)
    except ValueError:
        return None
    if not isinstance(parsed, dict) or parsed.get("state") != REFUSED:
        return None
    return str(parsed.get("reason") or "etcd's data check refused to start etcd")


def pod_refusal(pod: Mapping[str, Any]) -> str | None:
    """The refusal of the etcd pod's data check, from the pod's status (current or last run)."""
    statuses = (pod.get("status") or {}).get("initContainerStatuses") or []
    for status in statuses:
        if status.get("name") != INIT_CONTAINER:
            continue
        for state in (status.get("state"), status.get("lastState")):
            terminated = (state or {}).get("terminated") or {}
            if terminated.get("exitCode") not in (None, 0):
                found = refusal(terminated.get("message") or "")
                if found:
                    return found
    return None


@dataclass(frozen=True, kw_only=True)
class Refusals:
    """The etcd pods whose data check refused, judged against the StatefulSet's template.

    :param outdated: refused pods of an older template (e.g. before autoRestore was set):
        the StatefulSet controller never replaces a pod that is not ready, so the waiter does.
    :param current: the refusal of a pod of the current template: the answer to report.
    """

    outdated: tuple[str, ...] = ()
    current: str | None = None


def refusals(statefulset: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]) -> Refusals:
    """Judged only once the controller has seen the StatefulSet's newest spec."""
    status = statefulset.get("status") or {}
    generation = (statefulset.get("metadata") or {}).get("generation", 0)
    revision = status.get("updateRevision")
    if status.get("observedGeneration", 0) < generation or not revision:
        return Refusals()
    outdated, current = [], None
    for pod in pods:
        reason = pod_refusal(pod)
        if reason is None:
            continue
        meta = pod.get("metadata") or {}
        if (meta.get("labels") or {}).get(REVISION_LABEL) != revision:
            outdated.append(str(meta.get("name")))
        else:
            current = current or reason
    return Refusals(outdated=tuple(outdated), current=current)
