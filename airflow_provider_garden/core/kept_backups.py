"""What a teardown keeps of a shoot's snapshots, for how long, and when they go.

A deleted shoot's snapshots stay ``spec.backup.retentionAfterDeletion`` (default 7
days) after the teardown, marked with the deleted shoot's UID. One record per deleted
shoot says where they are; it lives in the project namespace (``garden-<project>``),
which outlives every control-plane namespace:

* ``s3``: the snapshots stay where they are (the same bucket and prefix); a shoot
  created again under the name writes beside them, and its choices skip them by UID.
* ``local``: the shoot's store volume is kept (its PersistentVolume set to Retain) and
  re-bound to a claim in the project namespace. A volume cannot be shared between
  namespaces, and the pods that restore (and the etcd init check) must mount the store
  beside etcd's own volume in the control-plane namespace, so the volume moves instead
  of its data.

With encryption at rest the snapshots' Secrets read only with the keys of the control
plane that wrote them, and those die with its namespace: the teardown keeps its
encryption configuration too, as Secret ``kept-etcd-encryption-<name>-<uid8>``
(:func:`kept_key_name`) beside the record, which names it (``keySecret``); it goes with
the snapshots. A record without one: the shoot had no key (its snapshots are plain).

``garden_backup`` expires records whose time is up, judged at the run's logical time,
of the shoots its ``only`` names (every record when it names none); dropping one early
needs the deleted shoot's ``<project>/<name>@<uid>`` typed. A record is written before
its teardown has moved what it names (so a teardown that dies midway leaves a trace to
finish from) and marked ``complete`` after: until then no expiry touches it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from .shoot_spec import SnapstoreKind, format_duration, parse_duration

# The label that finds every record, and the key of its JSON in the ConfigMap.
RECORD_LABEL = "garden.airflow.io/kept-backups"
RECORD_KEY = "kept.json"


class KeptBackupsError(ValueError):
    """A record is malformed, or an early drop was not confirmed; names the field."""


@dataclass(frozen=True, kw_only=True)
class KeptBackups:
    """The snapshots of one deleted shoot: where they are and until when."""

    project: str
    name: str
    uid: str
    kind: SnapstoreKind
    prefix: str
    deleted: dt.datetime
    keep_for: dt.timedelta
    bucket: str | None = None  # s3
    secret_name: str | None = None  # s3: the Secret in garden-<project>
    claim: str | None = None  # local: the kept volume's claim in garden-<project>
    key_secret: str | None = None  # the kept encryption keys' Secret in garden-<project>
    # False while the teardown that wrote the record is still moving what it names.
    complete: bool = True

    def __post_init__(self) -> None:
        if self.deleted.tzinfo is None:
            raise KeptBackupsError("deleted must be timezone-aware")
        if self.keep_for < dt.timedelta(0):
            raise KeptBackupsError(f"keepFor must not be negative, got {self.keep_for}")
        if (self.kind is SnapstoreKind.LOCAL) != (self.claim is not None):
            raise KeptBackupsError("claim is set exactly when the store kind is local")

    @property
    def shoot(self) -> str:
        return f"{self.project}/{self.name}"

    @property
    def expires(self) -> dt.datetime:
        return self.deleted + self.keep_for

    @property
    def confirmation(self) -> str:
        """What a person types to drop these snapshots before they expire."""
        return f"{self.shoot}@{self.uid}"

    @property
    def record_name(self) -> str:
        return record_name(self.name, self.uid)

    def to_data(self) -> dict[str, str]:
        """The ConfigMap's data (a JSON document; no secret, only the Secret's name)."""
        doc = {
            "project": self.project,
            "name": self.name,
            "uid": self.uid,
            "kind": self.kind.value,
            "prefix": self.prefix,
            "bucket": self.bucket,
            "secretName": self.secret_name,
            "claim": self.claim,
            "keySecret": self.key_secret,
            "deleted": _timestamp(self.deleted),
            "keepFor": format_duration(self.keep_for),
            "expires": _timestamp(self.expires),
            "complete": self.complete,
        }
        return {RECORD_KEY: json.dumps(doc, sort_keys=True)}

    @classmethod
    def from_data(cls, data: Mapping[str, str], *, where: str) -> KeptBackups:
        try:
            doc = json.loads(data[RECORD_KEY])
            return cls(
                project=_text(doc, "project"),
                name=_text(doc, "name"),
                uid=_text(doc, "uid"),
                kind=SnapstoreKind(_text(doc, "kind")),
                prefix=str(doc.get("prefix") or ""),
                deleted=dt.datetime.fromisoformat(_text(doc, "deleted")),
                keep_for=parse_duration(_text(doc, "keepFor")),
                bucket=doc.get("bucket"),
                secret_name=doc.get("secretName"),
                claim=doc.get("claim"),
                key_secret=doc.get("keySecret"),
                complete=doc.get("complete", True) is not False,  # older records: complete
            )
        except (KeyError, TypeError, ValueError) as err:
            raise KeptBackupsError(f"{where}: not a kept-backups record: {err}") from None


def record_name(name: str, uid: str) -> str:
    """One name per deleted incarnation: a name reused after a teardown gets another."""
    return f"kept-backups-{name}-{uid[:8]}"


#: the Secrets a teardown keeps a deleted incarnation's etcd encryption keys in
KEPT_KEY_PREFIX = "kept-etcd-encryption-"


def kept_key_name(name: str, uid: str) -> str:
    """The Secret holding a deleted incarnation's etcd encryption keys."""
    return f"{KEPT_KEY_PREFIX}{name}-{uid[:8]}"


def kept_claim_name(name: str, uid: str) -> str:
    return f"etcd-backups-{name}-{uid[:8]}"


class Verdict(StrEnum):
    KEPT = "kept"
    EXPIRED = "expired"
    DROPPED = "dropped early"


@dataclass(frozen=True, kw_only=True)
class ExpiryDecision:
    record: KeptBackups
    verdict: Verdict
    reason: str

    @property
    def goes(self) -> bool:
        return self.verdict is not Verdict.KEPT


def plan_expiry(
    records: Iterable[KeptBackups],
    *,
    now: dt.datetime,
    drop_uid: str | None = None,
    confirm: str | None = None,
    only: Collection[str] = (),
) -> list[ExpiryDecision]:
    """Which deleted shoots' snapshots go at ``now`` (the run's logical time), and why.

    ``only`` (``<project>/<name>``) limits the decisions to those shoots' records; the
    rest are not looked at. A record its teardown has not completed is kept whatever
    its time: dropping it would pull its volume from under that teardown.
    ``drop_uid`` drops that UID's snapshots before their time, only when ``confirm``
    is exactly the record's :attr:`KeptBackups.confirmation`; a UID no record has, or
    a wrong confirmation, raises before anything is decided.
    """
    if now.tzinfo is None:
        raise KeptBackupsError("now must be timezone-aware")
    records = sorted(records, key=lambda r: (r.expires, r.uid))
    if drop_uid:
        match = [r for r in records if r.uid == drop_uid]
        if not match:
            raise KeptBackupsError(f"drop_uid: no deleted shoot's snapshots have UID {drop_uid}")
        if only and match[0].shoot not in only:
            raise KeptBackupsError(
                f"drop_uid: {drop_uid} is of deleted shoot {match[0].shoot}, which only "
                f"({', '.join(sorted(only))}) leaves out. Nothing was deleted."
            )
        if confirm != match[0].confirmation:
            raise KeptBackupsError(
                f"drop_confirm must be exactly {match[0].confirmation!r} to drop the snapshots "
                f"of deleted shoot {match[0].shoot} before {_timestamp(match[0].expires)}; "
                f"got {confirm!r}. Nothing was deleted."
            )
    decisions = []
    for r in records:
        if only and r.shoot not in only:
            continue
        if not r.complete:
            verdict, reason = Verdict.KEPT, "its teardown has not finished keeping it"
        elif now >= r.expires:
            verdict = Verdict.EXPIRED
            reason = f"deleted {_timestamp(r.deleted)}, kept {format_duration(r.keep_for)}"
        elif r.uid == drop_uid:
            verdict, reason = Verdict.DROPPED, f"confirmed as {confirm!r}"
        else:
            verdict, reason = Verdict.KEPT, f"until {_timestamp(r.expires)}"
        decisions.append(ExpiryDecision(record=r, verdict=verdict, reason=reason))
    return decisions


def _text(doc: Mapping[str, object], key: str) -> str:
    value = doc[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string")
    return value


def _timestamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
