"""Shoot resources: read the fleet, write desired state, report observed state.

Status is read and written only through the typed model in ``core.status``
(Gardener's shape: ``lastOperation``, ``lastErrors``, conditions,
``observedGeneration``). Writers go through the status subresource, so they never
race with people editing the spec. Condition writes read the current conditions,
apply the transition rule (``core.status.merge_conditions``) and write the whole
list back under a resourceVersion precondition, so a condition whose status did not
change keeps its ``lastTransitionTime`` and a concurrent writer's conditions survive.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.status import (
    Condition,
    LastBackup,
    LastError,
    LastMaintenance,
    LastOperation,
    OperationState,
    OperationType,
    ShootStatus,
    StatusPatch,
    WorkerPoolStatus,
    member,
    merge_conditions,
)
from airflow_provider_garden.kube.client import KubeClient, Manifest
from airflow_provider_garden.kube.errors import Conflict
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION

Clock = Callable[[], dt.datetime]
_CONFLICT_ATTEMPTS = 5  # read-merge-write rounds before a 409 is given up on


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Shoots:
    """The Shoot kind. ``clock`` stamps every time written to a status (tests inject it)."""

    def __init__(self, kube: KubeClient, *, clock: Clock = utc_now) -> None:
        self.kube = kube
        self.clock = clock

    def get(self, project: str, name: str) -> Manifest:
        return self.kube.get(SHOOT_API_VERSION, "Shoot", name, naming.project_namespace(project))

    def find(self, project: str, name: str) -> Manifest | None:
        return self.kube.find(SHOOT_API_VERSION, "Shoot", name, naming.project_namespace(project))

    def list(self, project: str | None = None) -> list[Manifest]:
        ns = naming.project_namespace(project) if project else None
        return self.kube.list(SHOOT_API_VERSION, "Shoot", ns)

    def status(self, project: str, name: str) -> ShootStatus:
        return ShootStatus.from_shoot(self.get(project, name))

    def apply(self, shoot: Manifest) -> Manifest:
        """Apply the desired state (spec, labels, annotations) of a Shoot."""
        return self.kube.apply(shoot)

    def patch_status(self, project: str, name: str, status: Mapping[str, Any]) -> Manifest:
        """A raw merge patch of ``status``; prefer :meth:`write` and the typed writers."""
        return self._patch(project, name, {"status": dict(status)})

    def _patch(self, project: str, name: str, body: Manifest) -> Manifest:
        return self.kube.merge_patch(
            SHOOT_API_VERSION,
            "Shoot",
            name,
            body,
            naming.project_namespace(project),
            subresource="status",
        )

    def write(
        self, project: str, name: str, patch: StatusPatch, conditions: Sequence[Condition] = ()
    ) -> Manifest:
        """Write ``patch``; ``conditions`` are merged into the current ones first."""
        if not conditions:
            return self.patch_status(project, name, patch.to_dict())
        return self._write_with_conditions(project, name, patch, conditions, self.clock())

    def report(
        self,
        project: str,
        name: str,
        *,
        # Plain strings are accepted (and checked against the enums) until
        # agent/shoot_reconcile.py and agent/shoot_delete.py pass the model's types.
        type_: OperationType | str,
        state: OperationState | str,
        progress: int,
        description: str,
        errors: Sequence[LastError | Mapping[str, Any]] | None = None,
        conditions: Sequence[Condition] = (),
        workers: Mapping[str, WorkerPoolStatus] | None = None,
        observed_generation: int | None = None,
        kubernetes_version: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Manifest:
        """Write lastOperation, and with it what the operation learned.

        ``errors`` replaces lastErrors; a Succeeded operation without errors clears
        them. ``conditions`` are merged into the current ones by the transition rule.
        """
        now = self.clock()
        operation = LastOperation(
            type=member(OperationType, type_, "status.lastOperation.type"),
            state=member(OperationState, state, "status.lastOperation.state"),
            progress=progress,
            description=description,
            last_update_time=now,
        )
        legacy = dict(extra or {})
        legacy_generation = legacy.pop("observedGeneration", None)
        legacy_version = legacy.pop("kubernetesVersion", None)
        if errors is not None:
            last_errors: tuple[LastError, ...] | None = tuple(_error(e, now) for e in errors)
        else:
            last_errors = () if operation.succeeded else None
        patch = StatusPatch(
            last_operation=operation,
            last_errors=last_errors,
            workers=None
            if workers is None
            else {
                pool: replace(w, last_update_time=w.last_update_time or now)
                for pool, w in workers.items()
            },
            observed_generation=legacy_generation
            if observed_generation is None
            else observed_generation,
            kubernetes_version=kubernetes_version or legacy_version,
        )
        updates = [*conditions, *_conditions_of(legacy.pop("conditions", None))]
        if legacy:
            raise ValueError(f"extra status fields are not part of the model: {sorted(legacy)}")
        if updates:
            return self._write_with_conditions(project, name, patch, updates, now)
        return self.patch_status(project, name, patch.to_dict())

    def set_conditions(self, project: str, name: str, conditions: Sequence[Condition]) -> Manifest:
        """Merge ``conditions`` into the current ones (nothing else is written)."""
        return self.write(project, name, StatusPatch(), conditions)

    def record_maintenance(self, project: str, name: str, maintenance: LastMaintenance) -> Manifest:
        return self.write(project, name, StatusPatch(last_maintenance=maintenance))

    def record_backup(self, project: str, name: str, backup: LastBackup) -> Manifest:
        return self.write(project, name, StatusPatch(last_backup=backup))

    def _write_with_conditions(
        self,
        project: str,
        name: str,
        patch: StatusPatch,
        updates: Sequence[Condition],
        now: dt.datetime,
    ) -> Manifest:
        """Read, merge, write; a 409 (someone wrote in between) starts over from the read."""
        for attempt in range(_CONFLICT_ATTEMPTS):
            current = self.get(project, name)
            merged = merge_conditions(ShootStatus.from_shoot(current).conditions, updates, now=now)
            body = {
                "metadata": {"resourceVersion": current["metadata"]["resourceVersion"]},
                "status": replace(patch, conditions=tuple(merged)).to_dict(),
            }
            try:
                return self._patch(project, name, body)
            except Conflict:
                if attempt == _CONFLICT_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover


def _error(entry: LastError | Mapping[str, Any], now: dt.datetime) -> LastError:
    error = entry if isinstance(entry, LastError) else LastError.from_dict(entry)
    return replace(error, last_update_time=error.last_update_time or now)


def _conditions_of(raw: Any) -> list[Condition]:
    """Conditions handed over as dicts (``extra["conditions"]``) become model records;
    their times are ignored, the transition rule sets them."""
    if raw is None:
        return []
    return [Condition.from_dict(c, f"status.conditions[{i}]") for i, c in enumerate(raw)]


def condition(type_: str, status: str, reason: str, message: str) -> dict[str, str]:
    """A condition as a dict, for writers not yet on the model; times are set on write."""
    return Condition.from_dict(
        {"type": type_, "status": status, "reason": reason, "message": message}
    ).to_dict()


def error_entry(description: str, codes: Sequence[str], task_id: str) -> dict[str, Any]:
    """A lastErrors entry as a dict, for writers not yet on the model; stamped on write."""
    return LastError.from_dict(
        {"description": description, "codes": list(codes), "taskID": task_id}
    ).to_dict()
