"""Worker pools as shoot reconcile realises them, and what their nodes say about health.

Reconcile only ever adds machines (up to each pool's minimum): removing or
replacing machines is a rollout's job, with its drain and its fenceposts. A
machine of a pool that is no longer in the spec is reported, never deleted: an
"orphan" seen through a confused API is how whole clusters were lost upstream.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence

from airflow_provider_garden.core.shoot_spec import Worker
from airflow_provider_garden.core.status import (
    Condition,
    ConditionStatus,
    ConditionType,
    RolloutStatus,
    VersionCount,
    WorkerPoolStatus,
)
from airflow_provider_garden.drivers.base import MachineDriver, MachineState

log = logging.getLogger(__name__)
_LISTED = 10  # machine names quoted in a condition message


def observe(driver: MachineDriver, workers: Sequence[Worker]) -> dict[str, list[MachineState]]:
    return {w.name: driver.list_machines(w.name) for w in workers}


def ensure_minimum(driver: MachineDriver, workers: Sequence[Worker]) -> dict[str, list[str]]:
    """Create the machines each pool lacks to reach its minimum; return their names."""
    created: dict[str, list[str]] = {}
    for worker in workers:
        live = [m for m in driver.list_machines(worker.name) if not m.deleting]
        missing = worker.minimum - len(live)
        if missing <= 0:
            continue
        created[worker.name] = [driver.create_machine(worker) for _ in range(missing)]
        log.info(
            "worker pool %s: created %d machine(s) on %s %s: %s",
            worker.name,
            missing,
            worker.image.name,
            worker.image.version,
            ", ".join(created[worker.name]),
        )
    return created


def pools_ready(pools: Mapping[str, Sequence[MachineState]], workers: Sequence[Worker]) -> str:
    """What pools still lack Ready machines, or "" when each has its minimum Ready."""
    lacking = []
    for worker in workers:
        ready = sum(m.ready and not m.deleting for m in pools.get(worker.name, ()))
        if ready < worker.minimum:
            lacking.append(f"{worker.name} ({ready}/{worker.minimum} Ready)")
    return ", ".join(lacking)


def node_readiness(pools: Mapping[str, Sequence[MachineState]]) -> Condition:
    """The ``EveryNodeReady`` condition from the machines' real node states."""
    live = [m for machines in pools.values() for m in machines if not m.deleting]
    if not live:
        return _nodes(ConditionStatus.TRUE, "NoWorkers", "no machines are expected")
    not_ready = sorted(m.name for m in live if not m.ready)
    if not not_ready:
        return _nodes(ConditionStatus.TRUE, "NodesReady", f"all {len(live)} machines are Ready")
    listed = ", ".join(not_ready[:_LISTED]) + (" ..." if len(not_ready) > _LISTED else "")
    return _nodes(
        ConditionStatus.FALSE,
        "NodesNotReady",
        f"{len(not_ready)} of {len(live)} machines are not Ready: {listed}",
    )


def _nodes(status: ConditionStatus, reason: str, message: str) -> Condition:
    return Condition(
        type=ConditionType.EVERY_NODE_READY, status=status, reason=reason, message=message
    )


def pool_status(
    worker: Worker,
    machines: Sequence[MachineState],
    *,
    updated: int | None = None,
    rollout: RolloutStatus | None = None,
) -> WorkerPoolStatus:
    """One entry of ``status.workers`` (keyed by pool name); the writer stamps its time."""
    live = [m for m in machines if not m.deleting]
    counts = Counter(m.image_version for m in live)
    return WorkerPoolStatus(
        machines=len(live),
        ready=sum(m.ready for m in live),
        image_name=worker.image.name,
        image_version=worker.image.version,
        versions=tuple(VersionCount(version=v, machines=n) for v, n in sorted(counts.items())),
        updated=updated,
        rollout=rollout,
    )
