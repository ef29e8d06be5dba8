"""What a machine rollout tells: the Shoot's status and the log, in human terms.

``status.workers.<pool>`` holds the pool's counts and the rollout's state, target
version, description and failed machines (a re-run toward the same version
reads them back); ``lastOperation`` (type Reconcile) says what is happening now,
e.g. "Rolling worker pool pool-a: 3/10 machines on gardenlinux 1592.2; draining
...". At the end, ``EveryNodeReady`` is set from the nodes of every pool.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from airflow_provider_garden.agent.workers import node_readiness, pool_status
from airflow_provider_garden.core.rollout import RolloutStep
from airflow_provider_garden.core.shoot_spec import Worker
from airflow_provider_garden.core.status import (
    LastError,
    OperationState,
    OperationType,
    RolloutStatus,
)
from airflow_provider_garden.drivers.base import MachineState
from airflow_provider_garden.kube.shoots import Shoots

log = logging.getLogger(__name__)


def image_text(worker: Worker) -> str:
    return f"{worker.image.name} {worker.image.version}"


class RolloutReport:
    """Writes one pool's rollout progress and outcome to its Shoot."""

    def __init__(self, *, shoots: Shoots, project: str, name: str, worker: Worker) -> None:
        self.shoots = shoots
        self.project = project
        self.name = name
        self.worker = worker
        self._described = ""

    def progress(self, machines: Sequence[MachineState], step: RolloutStep) -> None:
        """Log and record a step, when it says something new (a write per change only)."""
        worker = self.worker
        text = f"{step.updated}/{step.desired} machines on {image_text(worker)}"
        doing = [
            f"creating {step.create}" if step.create else "",
            f"draining {', '.join(step.drain)}" if step.drain else "",
            f"deleting failed {', '.join(step.delete)}" if step.delete else "",
            step.waiting_for,
        ]
        doing = [d for d in doing if d]
        description = f"Rolling worker pool {worker.name}: " + "; ".join([text, *doing])
        if description == self._described:
            return
        self._described = description
        log.info("pool %s: %s", worker.name, "; ".join([text, *doing]))
        self.shoots.report(
            self.project,
            self.name,
            type_=OperationType.RECONCILE,
            state=OperationState.PROCESSING,
            progress=min(99, step.updated * 100 // max(1, step.desired)),
            description=description,
            workers={
                worker.name: pool_status(
                    worker,
                    machines,
                    updated=step.updated,
                    rollout=self._rollout(OperationState.PROCESSING, description, step.failed),
                )
            },
        )

    def end(
        self,
        pools: Mapping[str, Sequence[MachineState]] | None,
        *,
        state: OperationState,
        message: str,
        failed: Sequence[str],
    ) -> str:
        """Record the outcome; ``pools`` is None when the shoot could not be read."""
        worker = self.worker
        machines = (pools or {}).get(worker.name, [])
        updated = sum(
            m.ready and m.image_version == worker.image.version and not m.deleting for m in machines
        )
        summary = f"{updated}/{worker.minimum} machines on {image_text(worker)}"
        description = (
            f"Rolled worker pool {worker.name}: {summary}"
            if state is OperationState.SUCCEEDED
            else f"Rollout of worker pool {worker.name} stopped ({summary}): {message}"
        )
        log.info("pool %s: %s", worker.name, description)
        succeeded = state is OperationState.SUCCEEDED
        self.shoots.report(
            self.project,
            self.name,
            type_=OperationType.RECONCILE,
            state=state,
            progress=100 if succeeded else min(99, updated * 100 // max(1, worker.minimum)),
            description=description,
            errors=None
            if succeeded
            else [LastError(description=message, task_id=f"machines-rollout-{worker.name}")],
            # Unread pools (the shoot was unreachable) leave the last known counts.
            conditions=() if pools is None else [node_readiness(pools)],
            workers=None
            if pools is None
            else {
                worker.name: pool_status(
                    worker,
                    machines,
                    updated=updated,
                    rollout=self._rollout(state, description, failed),
                )
            },
        )
        return summary

    def _rollout(
        self, state: OperationState, description: str, failed: Sequence[str]
    ) -> RolloutStatus:
        return RolloutStatus(
            state=state,
            target_version=self.worker.image.version,
            description=description,
            failed_machines=tuple(failed),
        )
