"""Conditions and constraints, and the one rule for updating them.

A condition's ``lastTransitionTime`` says since when its status holds, so it moves
only when the status changes; ``lastUpdateTime`` moves when anything a person reads
(reason, message, codes) changes. An unchanged condition keeps both, so a write that
only repeats what is known changes nothing. (Kubernetes' ``meta.SetStatusCondition``
and Gardener's ``UpdatedConditionWithClock`` follow the same rule.)
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from airflow_provider_garden.core.fields import Field, FieldTable, Record

from . import wire
from .enums import ConditionStatus, ConditionType, ConstraintType, ErrorCode


def _observed_fields(kind: type[enum.StrEnum]) -> FieldTable:
    """A condition's or constraint's fields, ``type`` being a member of ``kind``."""
    return FieldTable(
        Field("type", wire.member_of(kind)),
        Field("status", wire.member_of(ConditionStatus)),
        Field("reason", wire.text),
        Field("message", wire.text),
        Field("last_transition_time", wire.time_or_none, wire.time_text),
        Field("last_update_time", wire.time_or_none, wire.time_text),
        Field("codes", wire.members_of(ErrorCode)),
    )


@dataclass(frozen=True, kw_only=True)
class _Observed(Record):
    status: ConditionStatus
    reason: str = ""
    message: str = ""
    # None until the first write stamps it (and in records written by old versions).
    last_transition_time: dt.datetime | None = None
    last_update_time: dt.datetime | None = None
    codes: tuple[ErrorCode, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if not self.codes:  # omitted when empty, as older versions wrote it
            del out["codes"]
        return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True, kw_only=True)
class Condition(_Observed):
    """One entry of ``status.conditions``: how an aspect of the shoot is doing."""

    FIELDS = _observed_fields(ConditionType)
    PATH = "status.conditions[]"

    type: ConditionType


@dataclass(frozen=True, kw_only=True)
class Constraint(_Observed):
    """One entry of ``status.constraints``: a fact that limits what may be done."""

    FIELDS = _observed_fields(ConstraintType)
    PATH = "status.constraints[]"

    type: ConstraintType


Observed = TypeVar("Observed", Condition, Constraint)


def update_condition(old: Observed | None, new: Observed, *, now: dt.datetime) -> Observed:
    """``new`` with its times set from ``old`` (same type) by the transition rule.

    ``new``'s own times are ignored: they are the writer's to decide, not the caller's.
    """
    if old is not None and old.type != new.type:
        raise ValueError(f"cannot update a {old.type} condition with a {new.type} one")
    at = wire.truncated(now)
    if old is None or old.status != new.status:
        return replace(new, last_transition_time=at, last_update_time=at)
    since = old.last_transition_time or at
    if (old.reason, old.message, old.codes) != (new.reason, new.message, new.codes):
        return replace(new, last_transition_time=since, last_update_time=at)
    return replace(new, last_transition_time=since, last_update_time=old.last_update_time or at)


def merge_conditions(
    current: Sequence[Observed], updates: Sequence[Observed], *, now: dt.datetime
) -> list[Observed]:
    """``current`` with each of ``updates`` applied in its place (new types appended).

    The whole list is what a merge patch must carry: it replaces lists, it does not
    merge them, so types the writer does not know about must be carried along.
    """
    by_type = {u.type: u for u in updates}
    if len(by_type) != len(updates):
        raise ValueError(f"one update per type, got {[u.type.value for u in updates]}")
    merged = []
    for old in current:
        new = by_type.pop(old.type, None)
        merged.append(old if new is None else update_condition(old, new, now=now))
    merged.extend(update_condition(None, new, now=now) for new in by_type.values())
    return merged
