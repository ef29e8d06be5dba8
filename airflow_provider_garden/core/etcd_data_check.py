"""Whether etcd may start on its data directory, judged against the newest good backup.

The init step of the etcd pod (``garden-agent etcd check-data``) observes the data
directory and the snapshot store; :func:`decide` says what to do, as etcd-backup-restore's
initializer does before it lets etcd start:

* no backup yet (a brand-new shoot): start, empty or not;
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


@dataclass(frozen=True, kw_only=True)
class RestoredFrom:
    """Which snapshot a data directory was restored from, and when."""

    snapshot: str
    revision: int
    restored: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "snapshot": self.snapshot,
            "revision": self.revision,
            "restored": self.restored.astimezone(dt.UTC).isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RestoredFrom:
        """Raises ValueError naming the field that is missing or of the wrong type."""
        snapshot, revision, restored = (
            data.get("snapshot"),
            data.get("revision"),
            data.get("restored"),
        )
        if not isinstance(snapshot, str) or not snapshot:
            raise ValueError(f"{RESTORED_FROM_FILE}: snapshot must be a non-empty string")
        if not isinstance(revision, int) or isinstance(revision, bool) or revision < 0:
            raise ValueError(f"{RESTORED_FROM_FILE}: revision must be an integer >= 0")
        if not isinstance(restored, str):
            raise ValueError(f"{RESTORED_FROM_FILE}: restored must be a time")
        when = dt.datetime.fromisoformat(restored)
        if when.tzinfo is None:
            raise ValueError(f"{RESTORED_FROM_FILE}: restored has no time zone")
        return cls(snapshot=snapshot, revision=revision, restored=when)


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


def baseline(data: DataDir, good: Sequence[GoodBackup]) -> GoodBackup | None:
    """The newest good backup of this data directory's history (None: nothing to compare)."""
    since = data.restored_from.restored if data.restored_from else None
    ours = [b for b in good if since is None or b.created >= since]
    return max(ours, key=lambda b: (b.created, b.key), default=None)


def decide(data: DataDir, good: Sequence[GoodBackup], *, auto_restore: bool) -> Decision:
    """What the init step does; ``good``: the store's good backups (any order)."""
    newest = max(good, key=lambda b: (b.created, b.key), default=None)
    if data.empty:
        if newest is None:
            return Decision(verdict=Verdict.START, reason="no data and no backup yet: a new etcd")
        lost = (
            f"the data directory has no database, but good backup {newest.key} "
            f"(revision {newest.revision}) exists"
        )
        return _lost(lost, newest, auto_restore=auto_restore)
    assert data.revision is not None
    compared = baseline(data, good)
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
        return _lost(lost, newest or compared, auto_restore=auto_restore)
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
