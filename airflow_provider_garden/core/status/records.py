"""The operation records of a Shoot's status: lastOperation, lastErrors, lastMaintenance,
lastBackup, lastRestoreDrill.

``to_dict`` writes every field of an object record, an absent one as ``None``: in a
JSON merge patch that removes what an earlier write left (a stale failureReason).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from airflow_provider_garden.core.fields import Field, FieldTable, Record

from . import wire
from .enums import DrillState, ErrorCode, OperationState, OperationType

DESCRIPTION_LIMIT = 1024  # characters kept of a description or failure reason


def _clip(text: str | None) -> str | None:
    return None if text is None else text[:DESCRIPTION_LIMIT]


@dataclass(frozen=True, kw_only=True)
class LastOperation(Record):
    """``status.lastOperation``: what is (or was last) being done to the shoot."""

    FIELDS = FieldTable(
        Field("type", wire.member_of(OperationType)),
        Field("state", wire.member_of(OperationState)),
        Field("progress", wire.integer),
        Field("description", wire.text),
        Field("last_update_time", wire.time_or_none, wire.time_text),
    )
    PATH = "status.lastOperation"

    type: OperationType
    state: OperationState
    progress: int = 0
    description: str = ""
    last_update_time: dt.datetime | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.progress <= 100:
            raise wire.StatusError(
                "status.lastOperation.progress", f"must be 0-100, got {self.progress}"
            )
        object.__setattr__(self, "description", _clip(self.description))

    @property
    def succeeded(self) -> bool:
        return self.state is OperationState.SUCCEEDED


@dataclass(frozen=True, kw_only=True)
class LastError(Record):
    """One entry of ``status.lastErrors``: what failed, in which task, and its codes."""

    FIELDS = FieldTable(
        Field("description", wire.text),
        Field("codes", wire.members_of(ErrorCode)),
        Field("task_id", wire.text_or_none, key="taskID"),
        Field("last_update_time", wire.time_or_none, wire.time_text),
    )
    PATH = "status.lastErrors[]"

    description: str
    codes: tuple[ErrorCode, ...] = ()
    task_id: str | None = None
    last_update_time: dt.datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "description", _clip(self.description))
        object.__setattr__(self, "codes", tuple(self.codes))

    @property
    def retryable(self) -> bool:
        """False when any code says a retry cannot help (an error without codes may)."""
        return all(code.retryable for code in self.codes)

    def to_dict(self) -> dict[str, Any]:
        # A list item is stored as written (no merge-patch removal): leave out absent fields.
        return {k: v for k, v in super().to_dict().items() if v is not None}


@dataclass(frozen=True, kw_only=True)
class LastMaintenance(Record):
    """``status.lastMaintenance``: the last maintenance run and how it ended."""

    FIELDS = FieldTable(
        Field("description", wire.text),
        Field("state", wire.member_of(OperationState, OperationState.PROCESSING)),
        Field("triggered_time", wire.time_or_none, wire.time_text),
        Field("failure_reason", wire.text_or_none),
    )
    PATH = "status.lastMaintenance"

    description: str = ""
    state: OperationState = OperationState.PROCESSING
    triggered_time: dt.datetime | None = None
    failure_reason: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "failure_reason", _clip(self.failure_reason))


@dataclass(frozen=True, kw_only=True)
class LastBackup(Record):
    """``status.lastBackup``: the newest snapshot that passed verification."""

    FIELDS = FieldTable(
        Field("snapshot", wire.text),
        Field("created", wire.time_or_none, wire.time_text),
        Field("verified", wire.flag),
        Field("end_revision", wire.integer_or_none),
        Field("size", wire.integer_or_none),
        Field("sha256", wire.text_or_none),
    )
    PATH = "status.lastBackup"

    snapshot: str
    created: dt.datetime | None = None
    verified: bool = False
    end_revision: int | None = None
    size: int | None = None
    sha256: str | None = None


@dataclass(frozen=True, kw_only=True)
class LastRestoreDrill(Record):
    """``status.lastRestoreDrill``: the last drill that restored a snapshot into a scratch
    etcd, and whether what came back was the snapshot's cluster."""

    FIELDS = FieldTable(
        Field("time", wire.time_or_none, wire.time_text),
        Field("snapshot", wire.text_or_none),
        Field("revision", wire.integer_or_none),
        Field("objects", wire.integer_or_none),
        Field("state", wire.member_of(DrillState, DrillState.FAILED)),
        Field("description", wire.text),
    )
    PATH = "status.lastRestoreDrill"

    time: dt.datetime | None = None
    snapshot: str | None = None  # None: no snapshot could be chosen
    revision: int | None = None  # the revision the restored etcd served
    objects: int | None = None  # keys under /registry/ it held
    state: DrillState = DrillState.FAILED
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "description", _clip(self.description))

    @property
    def succeeded(self) -> bool:
        return self.state is DrillState.SUCCEEDED
