"""The whole of a Shoot's ``status``, read in one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import wire
from .conditions import Condition, Constraint
from .enums import ConditionType, ConstraintType, ErrorCode
from .records import LastBackup, LastError, LastMaintenance, LastOperation
from .workers import WorkerPoolStatus


@dataclass(frozen=True, kw_only=True)
class ShootStatus:
    observed_generation: int | None = None
    kubernetes_version: str | None = None
    last_operation: LastOperation | None = None
    last_errors: tuple[LastError, ...] = ()
    last_maintenance: LastMaintenance | None = None
    last_backup: LastBackup | None = None
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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "status") -> ShootStatus:
        def record(key: str) -> Mapping[str, Any]:
            return wire.mapping(data, key, path)

        last_op, maintenance, backup = (
            record("lastOperation"),
            record("lastMaintenance"),
            (record("lastBackup")),
        )
        return cls(
            observed_generation=wire.integer_or_none(data, "observedGeneration", path),
            kubernetes_version=wire.text_or_none(data, "kubernetesVersion", path),
            last_operation=(
                LastOperation.from_dict(last_op, f"{path}.lastOperation") if last_op else None
            ),
            last_errors=tuple(
                LastError.from_dict(e, at) for at, e in wire.items(data, "lastErrors", path)
            ),
            last_maintenance=(
                LastMaintenance.from_dict(maintenance, f"{path}.lastMaintenance")
                if maintenance
                else None
            ),
            last_backup=LastBackup.from_dict(backup, f"{path}.lastBackup") if backup else None,
            workers={
                name: WorkerPoolStatus.from_dict(
                    wire.mapping(record("workers"), name, f"{path}.workers"),
                    f"{path}.workers.{name}",
                )
                for name in record("workers")
            },
            conditions=tuple(
                Condition.from_dict(c, at) for at, c in wire.items(data, "conditions", path)
            ),
            constraints=tuple(
                Constraint.from_dict(c, at) for at, c in wire.items(data, "constraints", path)
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "observedGeneration": self.observed_generation,
            "kubernetesVersion": self.kubernetes_version,
            "lastOperation": self.last_operation and self.last_operation.to_dict(),
            "lastErrors": [e.to_dict() for e in self.last_errors] or None,
            "lastMaintenance": self.last_maintenance and self.last_maintenance.to_dict(),
            "lastBackup": self.last_backup and self.last_backup.to_dict(),
            "workers": {n: w.to_dict() for n, w in self.workers.items()} or None,
            "conditions": [c.to_dict() for c in self.conditions] or None,
            "constraints": [c.to_dict() for c in self.constraints] or None,
        }
        return {k: v for k, v in out.items() if v is not None}

    def condition(self, type_: ConditionType) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)

    def constraint(self, type_: ConstraintType) -> Constraint | None:
        return next((c for c in self.constraints if c.type == type_), None)

    @property
    def error_codes(self) -> frozenset[ErrorCode]:
        return frozenset(code for e in self.last_errors for code in e.codes)
