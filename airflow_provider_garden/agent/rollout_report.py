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
from typing import Any

from airflow_provider_garden.agent.workers import every_node_ready, pool_status, with_condition
from airflow_provider_garden.core.rollout import RolloutStep
from airflow_provider_garden.core.shoot_spec import Worker
from airflow_provider_garden.drivers.base import MachineState
from airflow_provider_garden.kube.shoots import Shoots, error_entry

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
            type_="Reconcile",
            state="Processing",
            progress=min(99, step.updated * 100 // max(1, step.desired)),
            description=description,
            extra={
                "workers": {
                    worker.name: pool_status(
                        worker,
                        machines,
                        updated=step.updated,
                        rollout=self._rollout("Processing", description, step.failed),
                    )
                }
            },
        )

    def end(
        self,
        pools: Mapping[str, Sequence[MachineState]] | None,
        *,
        state: str,
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
            if state == "Succeeded"
            else f"Rollout of worker pool {worker.name} stopped ({summary}): {message}"
        )
        log.info("pool %s: %s", worker.name, description)
        extra: dict[str, Any] = {}
        if pools is not None:
            current = self.shoots.get(self.project, self.name).get("status") or {}
            extra["conditions"] = with_condition(current.get("conditions"), every_node_ready(pools))
            extra["workers"] = {
                worker.name: pool_status(
                    worker,
                    machines,
                    updated=updated,
                    rollout=self._rollout(state, description, failed),
                )
            }
        succeeded = state == "Succeeded"
        self.shoots.report(
            self.project,
            self.name,
            type_="Reconcile",
            state=state,
            progress=100 if succeeded else min(99, updated * 100 // max(1, worker.minimum)),
            description=description,
            errors=None
            if succeeded
            else [error_entry(message, [], f"machines-rollout-{worker.name}")],
            extra=extra,
        )
        return summary

    def _rollout(self, state: str, description: str, failed: Sequence[str]) -> dict[str, Any]:
        return {
            "state": state,
            "targetVersion": self.worker.image.version,
            "description": description[:1024],
            "failedMachines": list(failed),
        }
