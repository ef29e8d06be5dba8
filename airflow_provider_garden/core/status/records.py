"""The operation records of a Shoot's status: lastOperation, lastErrors, lastMaintenance,
lastBackup.

``to_dict`` writes every field of an object record, an absent one as ``None``: in a
JSON merge patch that removes what an earlier write left (a stale failureReason).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import wire
from .enums import ErrorCode, OperationState, OperationType

DESCRIPTION_LIMIT = 1024  # characters kept of a description or failure reason


def _clip(text: str | None) -> str | None:
    return None if text is None else text[:DESCRIPTION_LIMIT]


@dataclass(frozen=True, kw_only=True)
class LastOperation:
    """``status.lastOperation``: what is (or was last) being done to the shoot."""

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

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], path: str = "status.lastOperation"
    ) -> LastOperation:
        return cls(
            type=wire.member(OperationType, data.get("type"), f"{path}.type"),
            state=wire.member(OperationState, data.get("state"), f"{path}.state"),
            progress=wire.integer(data, "progress", path),
            description=wire.text(data, "description", path),
            last_update_time=wire.time_or_none(data, "lastUpdateTime", path),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type.value,
            "state": self.state.value,
            "progress": self.progress,
            "description": self.description,
            "lastUpdateTime": wire.time_text(self.last_update_time),
        }

    @property
    def succeeded(self) -> bool:
        return self.state is OperationState.SUCCEEDED


@dataclass(frozen=True, kw_only=True)
class LastError:
    """One entry of ``status.lastErrors``: what failed, in which task, and its codes."""

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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "status.lastErrors[]") -> LastError:
        return cls(
            description=wire.text(data, "description", path),
            codes=tuple(
                wire.member(ErrorCode, c, f"{path}.codes[{i}]")
                for i, c in enumerate(wire.texts(data, "codes", path))
            ),
            task_id=wire.text_or_none(data, "taskID", path),
            last_update_time=wire.time_or_none(data, "lastUpdateTime", path),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "description": self.description,
            "codes": [c.value for c in self.codes],
            "taskID": self.task_id,
            "lastUpdateTime": wire.time_text(self.last_update_time),
        }
        # A list item is stored as written (no merge-patch removal): leave out absent fields.
        return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True, kw_only=True)
class LastMaintenance:
    """``status.lastMaintenance``: the last maintenance run and how it ended."""

    description: str = ""
    state: OperationState = OperationState.PROCESSING
    triggered_time: dt.datetime | None = None
    failure_reason: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "failure_reason", _clip(self.failure_reason))

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], path: str = "status.lastMaintenance"
    ) -> LastMaintenance:
        state = wire.member_or_none(OperationState, data, "state", path)
        return cls(
            description=wire.text(data, "description", path),
            state=state or OperationState.PROCESSING,
            triggered_time=wire.time_or_none(data, "triggeredTime", path),
            failure_reason=wire.text_or_none(data, "failureReason", path),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "state": self.state.value,
            "triggeredTime": wire.time_text(self.triggered_time),
            "failureReason": self.failure_reason,
        }


@dataclass(frozen=True, kw_only=True)
class LastBackup:
    """``status.lastBackup``: the newest snapshot that passed verification."""

    snapshot: str
    created: dt.datetime | None = None
    verified: bool = False
    end_revision: int | None = None
    size: int | None = None
    sha256: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "status.lastBackup") -> LastBackup:
        return cls(
            snapshot=wire.text(data, "snapshot", path),
            created=wire.time_or_none(data, "created", path),
            verified=wire.flag(data, "verified", path),
            end_revision=wire.integer_or_none(data, "endRevision", path),
            size=wire.integer_or_none(data, "size", path),
            sha256=wire.text_or_none(data, "sha256", path),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "snapshot": self.snapshot,
            "created": wire.time_text(self.created),
            "verified": self.verified,
            "endRevision": self.end_revision,
            "size": self.size,
            "sha256": self.sha256,
        }
