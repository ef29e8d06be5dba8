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

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.status import (
    Condition,
    Constraint,
    LastBackup,
    LastError,
    LastMaintenance,
    LastOperation,
    LastRestoreDrill,
    OperationState,
    OperationType,
    ShootStatus,
    StatusPatch,
    WorkerPoolStatus,
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

    def patch_spec(self, project: str, name: str, patch: Manifest) -> Manifest:
        """Merge ``patch`` into the Shoot (its spec); a resourceVersion in it makes the
        write fail (Conflict) when the Shoot changed since it was read."""
        return self.kube.merge_patch(
            SHOOT_API_VERSION, "Shoot", name, patch, naming.project_namespace(project)
        )

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
            return self._patch(project, name, {"status": patch.to_dict()})
        return self._write_with_conditions(project, name, patch, conditions, self.clock())

    def report(
        self,
        project: str,
        name: str,
        *,
        type_: OperationType,
        state: OperationState,
        progress: int,
        description: str,
        errors: Sequence[LastError] | None = None,
        conditions: Sequence[Condition] = (),
        workers: Mapping[str, WorkerPoolStatus] | None = None,
        observed_generation: int | None = None,
        kubernetes_version: str | None = None,
    ) -> Manifest:
        """Write lastOperation, and with it what the operation learned.

        ``errors`` replaces lastErrors; a Succeeded operation without errors clears
        them. ``conditions`` are merged into the current ones by the transition rule.
        """
        now = self.clock()
        operation = LastOperation(
            type=type_,
            state=state,
            progress=progress,
            description=description,
            last_update_time=now,
        )
        if errors is not None:
            last_errors: tuple[LastError, ...] | None = tuple(
                replace(e, last_update_time=e.last_update_time or now) for e in errors
            )
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
            observed_generation=observed_generation,
            kubernetes_version=kubernetes_version,
        )
        if conditions:
            return self._write_with_conditions(project, name, patch, conditions, now)
        return self._patch(project, name, {"status": patch.to_dict()})

    def set_conditions(self, project: str, name: str, conditions: Sequence[Condition]) -> Manifest:
        """Merge ``conditions`` into the current ones (nothing else is written)."""
        return self.write(project, name, StatusPatch(), conditions)

    def write_care(
        self,
        project: str,
        name: str,
        conditions: Sequence[Condition],
        constraints: Sequence[Constraint],
        *,
        label: tuple[str, str] | None = None,
    ) -> Manifest:
        """What care observed: conditions and constraints merged by the transition rule,
        then the status label (on the resource: the status subresource ignores labels),
        patched only when it changes."""
        written = self._write_with_conditions(
            project, name, StatusPatch(), conditions, self.clock(), constraints
        )
        if label is None:
            return written
        key, value = label
        if (written["metadata"].get("labels") or {}).get(key) == value:
            return written
        return self.kube.merge_patch(
            SHOOT_API_VERSION,
            "Shoot",
            name,
            {"metadata": {"labels": {key: value}}},
            naming.project_namespace(project),
        )

    def record_maintenance(self, project: str, name: str, maintenance: LastMaintenance) -> Manifest:
        return self.write(project, name, StatusPatch(last_maintenance=maintenance))

    def record_backup(self, project: str, name: str, backup: LastBackup) -> Manifest:
        return self.write(project, name, StatusPatch(last_backup=backup))

    def record_restore_drill(self, project: str, name: str, drill: LastRestoreDrill) -> Manifest:
        return self.write(project, name, StatusPatch(last_restore_drill=drill))

    def _write_with_conditions(
        self,
        project: str,
        name: str,
        patch: StatusPatch,
        updates: Sequence[Condition],
        now: dt.datetime,
        constraint_updates: Sequence[Constraint] = (),
    ) -> Manifest:
        """Read, merge, write; a 409 (someone wrote in between) starts over from the read."""
        for attempt in range(_CONFLICT_ATTEMPTS):
            current = self.get(project, name)
            status = ShootStatus.from_shoot(current)
            merged = merge_conditions(status.conditions, updates, now=now)
            if constraint_updates:
                patch = replace(
                    patch,
                    constraints=tuple(
                        merge_conditions(status.constraints, constraint_updates, now=now)
                    ),
                )
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
