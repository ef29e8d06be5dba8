"""``status.workers.<pool>``: a worker pool's machines and its rollout, as last observed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_garden.core.fields import Field, FieldTable, Record

from . import wire
from .enums import OperationState
from .records import DESCRIPTION_LIMIT


@dataclass(frozen=True, kw_only=True)
class VersionCount:
    version: str
    machines: int


@dataclass(frozen=True, kw_only=True)
class RolloutStatus(Record):
    """A pool's last rollout; a re-run toward the same version reads it back."""

    FIELDS = FieldTable(
        Field("state", wire.member_of(OperationState)),
        Field("target_version", wire.text),
        Field("description", wire.text),
        Field("failed_machines", wire.texts),
    )
    PATH = "status.workers.<pool>.rollout"

    state: OperationState
    target_version: str
    description: str = ""
    failed_machines: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "description", self.description[:DESCRIPTION_LIMIT])
        object.__setattr__(self, "failed_machines", tuple(self.failed_machines))


@dataclass(frozen=True, kw_only=True)
class ReplacedMachine(Record):
    """A machine the health check replaced: which, by what, why and when."""

    FIELDS = FieldTable(
        Field("machine", wire.text),
        Field("replacement", wire.text),
        Field("reason", wire.text, lambda reason: reason[:DESCRIPTION_LIMIT]),
        Field("time", wire.time_or_none, wire.time_text),
    )
    PATH = "status.workers.<pool>.replaced[]"

    machine: str
    replacement: str
    reason: str  # the node's health when it was judged, e.g. "Ready=False: KubeletNotReady"
    time: dt.datetime | None = None


@dataclass(frozen=True, kw_only=True)
class RefilledMachine(Record):
    """A machine the health check created for a pool below its minimum: which, why, when."""

    FIELDS = FieldTable(
        Field("machine", wire.text),
        Field("reason", wire.text, lambda reason: reason[:DESCRIPTION_LIMIT]),
        Field("time", wire.time_or_none, wire.time_text),
    )
    PATH = "status.workers.<pool>.refilled[]"

    machine: str
    reason: str  # what the pool had, e.g. "pool a had 0 of its minimum 1 machines"
    time: dt.datetime | None = None


REPLACED_KEPT = 10  # the latest replacements (and, apart, refills) a pool's status lists


@dataclass(frozen=True, kw_only=True)
class WorkerPoolStatus:
    machines: int
    ready: int
    image_name: str
    image_version: str
    # A list, not a map, on the wire: a merge patch replaces lists whole, so versions
    # that are gone do not linger.
    versions: tuple[VersionCount, ...] = ()
    last_update_time: dt.datetime | None = None
    updated: int | None = None  # machines on the target version (during a rollout)
    rollout: RolloutStatus | None = None
    # Written only by the health check; left out of the patch when empty, so other
    # writers of the pool's record keep it.
    replaced: tuple[ReplacedMachine, ...] = ()
    refilled: tuple[RefilledMachine, ...] = ()  # likewise

    def __post_init__(self) -> None:
        object.__setattr__(self, "versions", tuple(self.versions))
        object.__setattr__(self, "replaced", tuple(self.replaced)[-REPLACED_KEPT:])
        object.__setattr__(self, "refilled", tuple(self.refilled)[-REPLACED_KEPT:])

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str) -> WorkerPoolStatus:
        image = wire.mapping(data, "image", path)
        rollout = wire.mapping(data, "rollout", path)
        return cls(
            machines=wire.integer(data, "machines", path),
            ready=wire.integer(data, "ready", path),
            image_name=wire.text(image, "name", f"{path}.image"),
            image_version=wire.text(image, "version", f"{path}.image"),
            versions=tuple(
                VersionCount(
                    version=wire.text(v, "version", at), machines=wire.integer(v, "machines", at)
                )
                for at, v in wire.items(data, "versions", path)
            ),
            last_update_time=wire.time_or_none(data, "lastUpdateTime", path),
            updated=wire.integer_or_none(data, "updated", path),
            rollout=RolloutStatus.from_dict(rollout, f"{path}.rollout") if rollout else None,
            replaced=tuple(
                ReplacedMachine.from_dict(r, at) for at, r in wire.items(data, "replaced", path)
            ),
            refilled=tuple(
                RefilledMachine.from_dict(r, at) for at, r in wire.items(data, "refilled", path)
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        replaced = {"replaced": [r.to_dict() for r in self.replaced]} if self.replaced else {}
        refilled = {"refilled": [r.to_dict() for r in self.refilled]} if self.refilled else {}
        return {
            **replaced,
            **refilled,
            "machines": self.machines,
            "ready": self.ready,
            "image": {"name": self.image_name, "version": self.image_version},
            "versions": [{"version": v.version, "machines": v.machines} for v in self.versions],
            "lastUpdateTime": wire.time_text(self.last_update_time),
            "updated": self.updated,
            "rollout": None if self.rollout is None else self.rollout.to_dict(),
        }
