"""One write to a Shoot's status, as the JSON merge patch that carries it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .conditions import Condition, Constraint
from .records import LastBackup, LastError, LastMaintenance, LastOperation, LastRestoreDrill
from .workers import WorkerPoolStatus


@dataclass(frozen=True, kw_only=True)
class StatusPatch:
    """What one write changes; a field left ``None`` is not touched.

    ``last_errors=()`` removes lastErrors. ``conditions`` is the whole list (a merge
    patch replaces lists): merge it with :func:`merge_conditions` first (``constraints`` too). ``workers``
    replaces the named pools' entries and leaves the others.
    """

    last_operation: LastOperation | None = None
    last_errors: tuple[LastError, ...] | None = None
    last_maintenance: LastMaintenance | None = None
    last_backup: LastBackup | None = None
    last_restore_drill: LastRestoreDrill | None = None
    workers: Mapping[str, WorkerPoolStatus] | None = None
    conditions: tuple[Condition, ...] | None = None
    constraints: tuple[Constraint, ...] | None = None
    observed_generation: int | None = None
    kubernetes_version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.last_operation is not None:
            out["lastOperation"] = self.last_operation.to_dict()
        if self.last_errors is not None:
            out["lastErrors"] = [e.to_dict() for e in self.last_errors] or None
        if self.last_maintenance is not None:
            out["lastMaintenance"] = self.last_maintenance.to_dict()
        if self.last_backup is not None:
            out["lastBackup"] = self.last_backup.to_dict()
        if self.last_restore_drill is not None:
            out["lastRestoreDrill"] = self.last_restore_drill.to_dict()
        if self.workers:
            out["workers"] = {pool: w.to_dict() for pool, w in self.workers.items()}
        if self.conditions is not None:
            out["conditions"] = [c.to_dict() for c in self.conditions]
        if self.constraints is not None:
            out["constraints"] = [c.to_dict() for c in self.constraints]
        if self.observed_generation is not None:
            out["observedGeneration"] = self.observed_generation
        if self.kubernetes_version is not None:
            out["kubernetesVersion"] = self.kubernetes_version
        return out
