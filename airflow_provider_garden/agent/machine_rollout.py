"""A worker pool's rolling replacement, as `garden-agent machines rollout` runs it.

Machine-controller-manager's rolling update, one observed step at a time: the
pool is listed, :func:`core.rollout.plan_step` says what to do next (create
machines, drain and delete old ones, delete new ones that never became Ready,
or wait), this module does it and looks again. Because every step starts from
what the shoot shows, a rollout that was killed resumes where it stopped:
machines already on the new image stay, cordoned ones finish draining.

Safety, in the order it applies:

* pre-flight, before any machine is created: refuse when too many machines are
  unhealthy, or when a PodDisruptionBudget covering pods on the machines to
  replace allows no disruption (the refusal names it);
* never more than desired + maxSurge machines, never fewer than
  desired - maxUnavailable Ready and schedulable (the planner's fenceposts);
* drains go through the Eviction API; a drain that times out stops the rollout
  (the machines stay cordoned) unless ``--force-drain``;
* after ``--freeze-after`` new machines failed to become Ready within the
  creation timeout the rollout freezes: nothing more is created or deleted, the
  old machines keep serving, and the error names the failed machines;
* nothing is deleted on the strength of an observation that failed: when the
  shoot's API cannot be read, the rollout stops; machines that vanish without
  this rollout deleting them stop it too;
* the shoot's operation Lease is held throughout, so no reconcile, restore or
  second rollout runs beside it; a new target version (``--image-version``) is
  written into the Shoot's spec under it, read back, and only then rolled to.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any

from airflow_provider_garden.agent.drain import (
    Drainer,
    DrainOptions,
    DrainRefused,
    DrainReport,
    DrainTimeout,
)
from airflow_provider_garden.agent.rollout_report import RolloutReport, image_text
from airflow_provider_garden.agent.shoot_machines import ShootMachinesJob
from airflow_provider_garden.agent.workers import observe
from airflow_provider_garden.core import intstr
from airflow_provider_garden.core import rollout as planner
from airflow_provider_garden.core.drain import blocking_budgets, pods_to_drain
from airflow_provider_garden.core.shoot_spec import ShootSpec, Worker, parse_shoot
from airflow_provider_garden.core.status import OperationState, ShootStatus
from airflow_provider_garden.drivers.base import MachineDriver, MachineState
from airflow_provider_garden.kube import lease
from airflow_provider_garden.kube.client import Manifest

log = logging.getLogger(__name__)

DEFAULT_MAX_UNHEALTHY = "25%"
DEFAULT_FREEZE_AFTER = 3
DRAIN_TIMEOUT = dt.timedelta(hours=2)
# Machines drained at once at most (each drain is a thread that mostly waits); the
# planner's fenceposts decide how many may drain, this only bounds the threads.
DRAIN_THREADS = 32
# A budget may be at zero for a moment while evicted pods' replacements start
# (after an interrupted drain, say): look again for this long before refusing.
PREFLIGHT_GRACE = 15.0


class RolloutError(RuntimeError):
    """The rollout stopped; ``state`` is what lastOperation records."""

    state: OperationState = OperationState.ERROR


class RolloutRefused(RolloutError):
    """Pre-flight said no: nothing was created or deleted."""


class RolloutFrozen(RolloutError):
    """Too many new machines failed: nothing more is created or deleted."""

    state = OperationState.FAILED


@dataclass(frozen=True, kw_only=True)
class RolloutOptions:
    pool: str
    force_drain: bool = False
    creation_timeout: dt.timedelta = planner.CREATION_TIMEOUT
    drain_timeout: dt.timedelta = DRAIN_TIMEOUT
    max_unhealthy: intstr.IntOrPercent = DEFAULT_MAX_UNHEALTHY
    freeze_after: int = DEFAULT_FREEZE_AFTER
    interval: float = 1.0  # seconds between looks while waiting
    lease_wait: float = 120.0  # seconds to wait for another operation's Lease
    image_version: str | None = None  # written into the pool's spec first (under the Lease)


@dataclass
class _Counts:
    created: int = 0
    deleted: int = 0
    drained: int = 0
    evicted: int = 0
    refused: int = 0
    forced: int = 0
    steps: int = 0
    drains: int = 0  # drain calls (a wave of machines each)
    drain_seconds: float = 0.0
    boot_seconds: list[float] = field(default_factory=list)  # create to first seen Ready


@dataclass(kw_only=True, eq=False)
class MachineRollout(ShootMachinesJob):
    """One rollout of one pool."""

    options: RolloutOptions
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        super().__post_init__()
        self.drainer = Drainer(
            shoot=self.shoot,
            options=DrainOptions(
                timeout=self.options.drain_timeout.total_seconds(),
                force=self.options.force_drain,
            ),
            clock=self.clock,
        )
        self.counts = _Counts()
        self._failed: tuple[str, ...] = ()  # new machines that never became Ready
        self._known: set[str] = set()  # machines seen in the pool
        self._deleted: set[str] = set()  # machines this rollout deleted
        self._booting: dict[str, float] = {}  # created by this rollout, not yet seen Ready
        self._draining: dict[str, Future[DrainReport]] = {}

    # --- the whole run --------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Take the shoot's operation Lease, then read the Shoot and roll the pool."""
        try:
            with self.operation_lease(wait=self.options.lease_wait):
                return self._run_held()
        except lease.LeaseHeld as err:
            raise RolloutError(f"another operation runs on this shoot: {err}") from None

    def _run_held(self) -> dict[str, Any]:
        resource = self.shoots.get(self.project, self.name)
        spec = parse_shoot(resource)
        worker = next((w for w in spec.workers if w.name == self.options.pool), None)
        if worker is None:
            pools = ", ".join(w.name for w in spec.workers) or "none"
            raise RolloutRefused(
                f"shoot {self.project}/{self.name} has no worker pool {self.options.pool!r} "
                f"(pools: {pools})"
            )
        if self.options.image_version:
            resource, spec, worker = self._set_image_version(resource, worker)
        driver = self.driver(resource)
        refusal = planner.scale_to_zero_problem(
            f"spec.workers[{spec.workers.index(worker)}]",
            desired=worker.minimum,
            machines=sum(not m.deleting for m in self._observe(driver, worker)),
            allowed=worker.allow_scale_to_zero,
        )
        if refusal is not None:
            raise RolloutRefused(f"rollout of pool {worker.name}: {refusal}")
        report = RolloutReport(
            shoots=self.shoots, project=self.project, name=self.name, worker=worker
        )
        started = self.clock()
        try:
            self._rollout(driver, worker, resource, report)
        except (RolloutError, DrainTimeout) as err:
            state = err.state if isinstance(err, RolloutError) else OperationState.ERROR
            self._report_end(driver, report, spec.workers, state=state, message=str(err))
            raise
        except (SystemExit, KeyboardInterrupt):  # SIGTERM ends the agent this way
            self._report_end(
                driver,
                report,
                spec.workers,
                state=OperationState.ABORTED,
                message="interrupted; a re-run resumes where this one stopped",
            )
            raise
        except Exception as err:
            self._report_end(
                driver, report, spec.workers, state=OperationState.ERROR, message=str(err)
            )
            raise
        summary = self._report_end(
            driver, report, spec.workers, state=OperationState.SUCCEEDED, message=""
        )
        return {
            "project": self.project,
            "name": self.name,
            "pool": worker.name,
            "state": OperationState.SUCCEEDED.value,
            "image": {"name": worker.image.name, "version": worker.image.version},
            "summary": summary,
            "machinesCreated": self.counts.created,
            "machinesDeleted": self.counts.deleted,
            "machinesDrained": self.counts.drained,
            "evictions": self.counts.evicted,
            "evictionsRefused": self.counts.refused,
            "podsForced": self.counts.forced,
            "steps": self.counts.steps,
            "drains": self.counts.drains,
            "drainSeconds": round(self.counts.drain_seconds, 1),
            "bootSecondsMean": round(
                sum(self.counts.boot_seconds) / max(1, len(self.counts.boot_seconds)), 2
            ),
            "seconds": round(self.clock() - started, 1),
        }

    def _set_image_version(
        self, resource: Manifest, worker: Worker
    ) -> tuple[Manifest, ShootSpec, Worker]:
        """Write the target version into the pool's spec (this process holds the Lease),
        then roll to the spec as the API returned it."""
        version = str(self.options.image_version)
        patch = planner.image_version_patch(resource, worker.name, version)
        if patch is not None:
            log.info(
                "pool %s: machine image %s %s -> %s",
                worker.name,
                worker.image.name,
                worker.image.version,
                version,
            )
            resource = self.shoots.patch_spec(self.project, self.name, patch)
        spec = parse_shoot(resource)
        return resource, spec, next(w for w in spec.workers if w.name == worker.name)

    # --- the loop ---------------------------------------------------------------------
    def _rollout(
        self, driver: MachineDriver, worker: Worker, resource: Manifest, report: RolloutReport
    ) -> None:
        previous = ShootStatus.from_shoot(resource).workers.get(worker.name)
        earlier = previous.rollout if previous else None
        if earlier is not None and earlier.target_version == worker.image.version:
            # Failures of an earlier run toward the same image still count: a re-run
            # of a frozen rollout stays frozen until the image (or its fix) changes.
            self._failed = earlier.failed_machines
        machines = self._observe(driver, worker)
        self._preflight(driver, worker, machines)
        self._known = {m.name for m in machines}
        # Drains run beside the loop, one thread per machine: a machine that becomes
        # Ready lets the next old one drain at once, without waiting for a whole wave.
        with ThreadPoolExecutor(max_workers=DRAIN_THREADS, thread_name_prefix="drain") as pool:
            try:
                while not self._step(driver, worker, report, pool):
                    pass
            finally:
                self.drainer.stop.set()  # drains still running end at their next look

    def _step(
        self,
        driver: MachineDriver,
        worker: Worker,
        report: RolloutReport,
        pool: ThreadPoolExecutor,
    ) -> bool:
        """Look, plan, act once; True when the pool is done."""
        self._finish_drains(driver, worker)
        machines = self._look(driver, worker)
        view = [m.for_rollout() for m in machines]
        # A drain cordons its machine first thing, but in its own thread: count it
        # cordoned already, so no look in between spends its budget twice.
        view = [replace(m, cordoned=True) if m.name in self._draining else m for m in view]
        step = planner.plan_step(
            view,
            desired=worker.minimum,
            target_version=worker.image.version,
            max_surge=worker.max_surge,
            max_unavailable=worker.max_unavailable,
            now=dt.datetime.now(dt.UTC),
            creation_timeout=self.options.creation_timeout,
            failed_before=self._failed,
            freeze_after=self.options.freeze_after,
        )
        self._failed = step.failed
        self.counts.steps += 1
        report.progress(machines, step)
        if step.frozen:
            raise RolloutFrozen(
                f"rollout of pool {worker.name} to {image_text(worker)} frozen after "
                f"{len(step.failed)} new machine(s) did not become Ready within "
                f"{self.options.creation_timeout}: {', '.join(step.failed)}. The old "
                "machines were left in place"
            )
        if step.done:
            return True
        for _ in range(step.create):
            created = driver.create_machine(worker)
            self._booting[created] = self.clock()
            self.counts.created += 1
            log.info("pool %s: created machine %s on %s", worker.name, created, image_text(worker))
        for name in step.delete:
            log.warning("pool %s: deleting machine %s: never became Ready", worker.name, name)
            driver.delete_machine(name)
            self._deleted.add(name)
            self.counts.deleted += 1
        started = [n for n in step.drain if n not in self._draining]
        by_name = {m.name: m for m in machines}
        unready = {m.node_name for m in machines if not m.ready}
        for name in started:
            log.info("pool %s: draining %s", worker.name, name)
            self._draining[name] = pool.submit(self._drain, by_name[name].node_name, unready)
        if not (step.create or step.delete or started):
            self._wait()
        return False

    def _look(self, driver: MachineDriver, worker: Worker) -> list[MachineState]:
        """The pool now; stops when machines vanished that this rollout did not delete."""
        machines = self._observe(driver, worker)
        for m in machines:
            if m.ready and m.name in self._booting:
                self.counts.boot_seconds.append(self.clock() - self._booting.pop(m.name))
        names = {m.name for m in machines}
        vanished = sorted(self._known - names - self._deleted)
        if vanished:
            raise RolloutError(
                f"machines of pool {worker.name} disappeared without this rollout deleting "
                f"them: {', '.join(vanished)}; stopping without further changes"
            )
        self._known |= names
        return machines

    def _drain(self, node: str, unready: set[str]) -> DrainReport:
        began = self.clock()
        report = self.drainer.drain([node], unready=unready)
        report.seconds = self.clock() - began
        return report

    def _wait(self) -> None:
        """Until the next look: the polling interval, or sooner when a drain ends."""
        if self._draining:
            wait(
                self._draining.values(), timeout=self.options.interval, return_when=FIRST_COMPLETED
            )
        else:
            self.sleep(self.options.interval)

    def _finish_drains(self, driver: MachineDriver, worker: Worker) -> None:
        """Delete the machines whose drain finished; a failed drain stops the rollout."""
        for name, future in list(self._draining.items()):
            if not future.done():
                continue
            del self._draining[name]
            report = future.result()  # DrainTimeout and API errors end the rollout here
            self.counts.drains += 1
            self.counts.drain_seconds += report.seconds
            self.counts.evicted += report.evicted
            self.counts.refused += report.refused
            self.counts.forced += report.forced
            log.info(
                "pool %s: drained %s in %.1fs (%d evicted, %d eviction(s) refused by budgets)",
                worker.name,
                name,
                report.seconds,
                report.evicted,
                report.refused,
            )
            driver.delete_machine(name)
            self._deleted.add(name)
            self.counts.deleted += 1
            self.counts.drained += 1

    # --- looking -----------------------------------------------------------------------
    def _observe(self, driver: MachineDriver, worker: Worker) -> list[MachineState]:
        try:
            return driver.list_machines(worker.name)
        except Exception as err:
            raise RolloutError(
                f"cannot read the machines of pool {worker.name} from the shoot's API "
                f"({type(err).__name__}: {err}); machine deletion is frozen until it answers"
            ) from err

    def _preflight(
        self, driver: MachineDriver, worker: Worker, machines: list[MachineState]
    ) -> None:
        """Refuse (before anything changes) a rollout that would only add risk."""
        old = [m for m in machines if m.image_version != worker.image.version and not m.deleting]
        if not old:
            return  # nothing left to drain: finishing (creating, cleaning up) is always safe
        now = dt.datetime.now(dt.UTC)
        # New machines still inside their creation timeout are booting, not unhealthy.
        counted = [
            m.for_rollout()
            for m in machines
            if m.image_version != worker.image.version
            or m.ready
            or m.created is None
            or now - m.created >= self.options.creation_timeout
        ]
        unhealthy = planner.preflight_problem(counted, max_unhealthy=self.options.max_unhealthy)
        if unhealthy is not None:
            raise RolloutRefused(f"rollout of pool {worker.name}: {unhealthy}")
        if not self.options.force_drain:
            try:
                self.drainer.refuse_unsafe([m.node_name for m in old])
            except DrainRefused as err:
                raise RolloutRefused(f"rollout of pool {worker.name}: {err}") from None
        deadline = self.clock() + PREFLIGHT_GRACE
        while blocking := self._blocking_budgets(old):
            if self.options.force_drain:
                # Asked to push through (typically after a drain timed out): say what
                # will be forced, then let the drains do it after their timeout.
                log.warning(
                    "pool %s: budgets allow no disruption, going ahead (--force-drain): %s",
                    worker.name,
                    "; ".join(blocking),
                )
                return
            if self.clock() >= deadline:
                raise RolloutRefused(
                    f"rollout of pool {worker.name}: refusing to start: PodDisruptionBudget(s) "
                    "allow no disruption of pods on the machines to replace, so none of them "
                    f"could be drained: {'; '.join(blocking)}"
                )
            self.sleep(self.options.interval)

    def _blocking_budgets(self, old: Sequence[MachineState]) -> list[str]:
        pods = pods_to_drain(self.shoot.list("v1", "Pod"), [m.node_name for m in old])
        return blocking_budgets(pods, self.shoot.list("policy/v1", "PodDisruptionBudget"))

    # --- telling -------------------------------------------------------------------------
    def _report_end(
        self,
        driver: MachineDriver,
        report: RolloutReport,
        workers: Sequence[Worker],
        *,
        state: OperationState,
        message: str,
    ) -> str:
        """Write the outcome with the node health of every pool; return the summary."""
        try:
            pools: dict[str, list[MachineState]] | None = observe(driver, workers)
        except Exception as err:  # the shoot is unreachable: say so, keep the old counts
            log.warning("cannot read the machines for the final status: %s", err)
            pools = None
        return report.end(pools, state=state, message=message, failed=self._failed)
