"""The whole of a Shoot's ``status``, read in one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_garden.core.fields import Field, FieldTable, Record

from . import wire
from .conditions import Condition, Constraint
from .enums import ConditionType, ConstraintType, ErrorCode
from .records import LastBackup, LastError, LastMaintenance, LastOperation, LastRestoreDrill
from .workers import WorkerPoolStatus


def _workers(data: Mapping[str, Any], key: str, path: str) -> dict[str, WorkerPoolStatus]:
    pools = wire.mapping(data, key, path)
    return {
        name: WorkerPoolStatus.from_dict(
            wire.mapping(pools, name, f"{path}.{key}"), f"{path}.{key}.{name}"
        )
        for name in pools
    }


def _workers_json(workers: Mapping[str, WorkerPoolStatus]) -> dict[str, Any]:
    return {name: pool.to_dict() for name, pool in workers.items()}


@dataclass(frozen=True, kw_only=True)
class ShootStatus(Record):
    FIELDS = FieldTable(
        Field("observed_generation", wire.integer_or_none),
        Field("kubernetes_version", wire.text_or_none),
        Field("last_operation", wire.record_of(LastOperation)),
        Field("last_errors", wire.records_of(LastError)),
        Field("last_maintenance", wire.record_of(LastMaintenance)),
        Field("last_backup", wire.record_of(LastBackup)),
        Field("last_restore_drill", wire.record_of(LastRestoreDrill)),
        Field("workers", _workers, _workers_json),
        Field("conditions", wire.records_of(Condition)),
        Field("constraints", wire.records_of(Constraint)),
    )
    PATH = "status"

    observed_generation: int | None = None
    kubernetes_version: str | None = None
    last_operation: LastOperation | None = None
    last_errors: tuple[LastError, ...] = ()
    last_maintenance: LastMaintenance | None = None
    last_backup: LastBackup | None = None
    last_restore_drill: LastRestoreDrill | None = None
    workers: Mapping[str, WorkerPoolStatus] = field(default_factory=dict)
    conditions: tuple[Condition, ...] = ()
    constraints: tuple[Constraint, ...] = ()

    @classmethod
    def from_shoot(cls, shoot: Mapping[str, Any] | None) -> ShootStatus:
        """The status of a Shoot resource (an empty one for None or a new Shoot)."""
        status = (shoot or {}).get("status") or {}
        if not isinstance(status, Mapping):
            raise wire.StatusError("status", f"must be an object, got {status!r}")
        return cls.from_dict(status)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in super().to_dict().items() if v not in (None, [], {})}

    def condition(self, type_: ConditionType) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)

    def constraint(self, type_: ConstraintType) -> Constraint | None:
        return next((c for c in self.constraints if c.type == type_), None)

    @property
    def error_codes(self) -> frozenset[ErrorCode]:
        return frozenset(code for e in self.last_errors for code in e.codes)
