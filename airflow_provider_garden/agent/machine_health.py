"""Replace a shoot's unhealthy machines: :mod:`core.machine_health`'s plan, carried out.

One call heals every pool of one shoot and returns once nothing is left to do
(see :func:`heal_shoot`, which care calls per shoot). Per pool it looks, plans,
acts and looks again: create replacements, wait for them to be Ready, then drain
(through the Eviction API, :mod:`agent.drain`) and delete the machines they
replace. Each replacement is recorded in ``status.workers.<pool>.replaced``.
A pool with fewer machines than its minimum (one vanished) is refilled: new
machines are created (within the same in-flight budget) and waited for; each is
recorded in ``status.workers.<pool>.refilled`` when it is created. A shoot being
deleted (or whose last operation is a Delete) is left alone.

Before a replacement is created, the pods on the unhealthy machine are checked:
bare pods and emptyDir data would be lost by the drain, so unless
``force_drain`` the machine is left in place and the refusal names the pods.

Only a shoot with work to do takes its operation Lease (machines are created and
deleted); a shoot whose Lease another operation holds (a rollout, a reconcile) is
skipped this time and says so. Losing the Lease ends the process (``machines heal``)
or, given ``on_lease_lost=lease.StopWork`` and its guarded clients (care), stops this
shoot's healing with ``lost`` naming who holds the Lease now.

``deadline`` (care: the run's end) bounds the call: once it passes, nothing new is
started and waiting stops (a drain in progress is stopped, its node left cordoned);
the result says healing continues next run, which picks up what is in flight.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from airflow_provider_garden.agent.drain import Drainer, DrainOptions, DrainRefused, DrainStopped
from airflow_provider_garden.agent.shoot_machines import ShootMachinesJob
from airflow_provider_garden.agent.workers import pool_status
from airflow_provider_garden.core import machine_health, naming
from airflow_provider_garden.core.settings import DEFAULTS
from airflow_provider_garden.core.shoot_spec import Worker, parse_shoot
from airflow_provider_garden.core.status import (
    RefilledMachine,
    ReplacedMachine,
    ShootStatus,
    StatusPatch,
)
from airflow_provider_garden.drivers.base import MachineState
from airflow_provider_garden.drivers.local import LocalDriver
from airflow_provider_garden.kube import lease
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.shoots import utc_now

log = logging.getLogger(__name__)


class HealthError(RuntimeError):
    """A pool could not be healed (a replacement never became Ready, the API failed)."""


@dataclass(frozen=True, kw_only=True)
class HealOptions:
    force_drain: bool = False
    creation_timeout: dt.timedelta = DEFAULTS.machine_creation_timeout
    drain_timeout: dt.timedelta = DEFAULTS.drain_timeout
    interval: float = 1.0  # seconds between looks while a replacement boots
    deadline: float | None = None  # monotonic seconds: stop looking, continue next run


@dataclass
class HealResult:
    """What one call did to one shoot (``to_dict`` is the verb's JSON)."""

    replaced: list[ReplacedMachine] = field(default_factory=list)
    refilled: dict[str, list[RefilledMachine]] = field(default_factory=dict)  # by pool
    refused: list[str] = field(default_factory=list)  # machines left in place, and why
    most_in_flight: int = 0  # replacements and refills in flight at once, at most
    skipped: str = ""  # why nothing was tried (the shoot is deleted, another operation runs)
    lost: str = ""  # the Lease was lost while healing: why, and who holds it now
    continues: str = ""  # the deadline came first: what is left for the next run

    def to_dict(self) -> dict[str, Any]:
        return {
            "replaced": [r.to_dict() for r in self.replaced],
            "refilled": {
                pool: [r.to_dict() for r in records] for pool, records in self.refilled.items()
            },
            "refused": self.refused,
            "mostInFlight": self.most_in_flight,
            "skipped": self.skipped,
            "lost": self.lost,
            "continues": self.continues,
        }


def heal_shoot(
    seed: KubeClient,
    shoot: KubeClient,
    project: str,
    name: str,
    *,
    holder: str,
    options: HealOptions = HealOptions(),
    on_lease_lost: Callable[[str], None] = lease.abort_process,
) -> HealResult:
    """Replace the shoot's machines unhealthy past their pool's machineHealthTimeout and
    refill its pools below their minimum."""
    return MachineHealer(
        seed=seed,
        shoot=shoot,
        project=project,
        name=name,
        holder=holder,
        options=options,
        on_lease_lost=on_lease_lost,
    ).run()


class OutOfTime(Exception):
    """The call's deadline passed: healing continues next run (not a failure)."""


@dataclass(kw_only=True, eq=False)
class MachineHealer(ShootMachinesJob):
    options: HealOptions
    now: Callable[[], dt.datetime] = utc_now
    clock: Callable[[], float] = time.monotonic  # for ``options.deadline``
    result: HealResult = field(init=False, default_factory=HealResult)

    def __post_init__(self) -> None:
        super().__post_init__()
        options = self.options
        self.drainer = Drainer(
            shoot=self.shoot,
            options=DrainOptions(
                timeout=options.drain_timeout.total_seconds(),
                force=options.force_drain,
                interval=options.interval,
            ),
        )

    def run(self) -> HealResult:
        resource = self.shoots.get(self.project, self.name)
        if reason := machine_health.hands_off(resource):
            self.result.skipped = reason
            log.info("shoot %s/%s: not healed: %s", self.project, self.name, reason)
            return self.result
        workers = parse_shoot(resource).workers
        driver = self.driver(resource)
        # A look without the Lease first: care calls this for every shoot, and most
        # have nothing to heal.
        if all(self._plan(w, driver.list_machines(w.name)).idle for w in workers):
            return self.result
        try:
            with self.operation_lease(wait=0), self._stop_drains_at_deadline():
                # The pools as the spec says under the Lease, not as read before it (a
                # delete that held the Lease before us leaves the shoot alone too).
                resource = self.shoots.get(self.project, self.name)
                if reason := machine_health.hands_off(resource):
                    self.result.skipped = reason
                    return self.result
                workers = parse_shoot(resource).workers
                for worker in workers:
                    self._heal_pool(driver, worker)
        except lease.LeaseHeld as err:
            self.result.skipped = f"another operation runs on this shoot: {err}"
            log.info("shoot %s/%s: %s", self.project, self.name, self.result.skipped)
        except lease.LeaseLost as err:
            holder = lease.holder_of(
                self.seed,
                namespace=naming.project_namespace(self.project),
                name=naming.operation_lease(self.name),
            )
            self.result.lost = f"the shoot's Lease is now held by {holder}; {err}"
            log.error("shoot %s/%s: healing stopped: %s", self.project, self.name, self.result.lost)
        except (OutOfTime, DrainStopped) as err:
            self.result.continues = f"healing continues next run: {err}"
            log.info("shoot %s/%s: %s", self.project, self.name, self.result.continues)
        return self.result

    @contextmanager
    def _stop_drains_at_deadline(self) -> Iterator[None]:
        """A drain waits on evictions: it is stopped when the deadline passes."""
        if self.options.deadline is None:
            yield
            return
        timer = threading.Timer(
            max(0.0, self.options.deadline - self.clock()), self.drainer.stop.set
        )
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    def _check_time(self, worker: Worker, what: str) -> None:
        if self.options.deadline is not None and self.clock() >= self.options.deadline:
            raise OutOfTime(f"pool {worker.name}: {what} at the end of this run's time")

    def _plan(
        self, worker: Worker, machines: Sequence[MachineState], exclude: Collection[str] = ()
    ) -> machine_health.HealthPlan:
        return machine_health.plan(
            [m.for_health() for m in machines],
            timeout=worker.machine_health_timeout,
            creation_timeout=self.options.creation_timeout,
            max_unavailable=worker.max_unavailable,
            desired=worker.minimum,
            now=self.now(),
            exclude=exclude,
        )

    def _heal_pool(self, driver: LocalDriver, worker: Worker) -> None:
        refused: set[str] = set()  # machines whose pods a drain would lose: left alone
        while True:
            machines = driver.list_machines(worker.name)
            step = self._plan(worker, machines, exclude=refused)
            self.result.most_in_flight = max(self.result.most_in_flight, step.in_flight)
            by_name = {m.name: m for m in machines}
            if step.failed:
                for name in step.failed:
                    driver.delete_machine(name)
                raise HealthError(
                    f"pool {worker.name}: replacement(s) not Ready within "
                    f"{self.options.creation_timeout}, deleted: {', '.join(step.failed)}; "
                    "no more machines are replaced until the next run"
                )
            for old in step.retire:
                self._check_time(worker, f"{old} not yet drained")
                self._retire(driver, worker, by_name, old)
            for _ in range(step.refill):
                self._check_time(worker, f"{step.missing} machine(s) not yet refilled")
                self._refill(driver, worker, step)
            for old in step.replace:
                self._check_time(worker, f"{old} not yet replaced")
                try:
                    if not self.options.force_drain:
                        self.drainer.refuse_unsafe([by_name[old].node_name])
                except DrainRefused as err:
                    refused.add(old)
                    self.result.refused.append(f"{old}: {err}")
                    log.warning("pool %s: not replacing %s: %s", worker.name, old, err)
                    continue
                new = driver.create_machine(worker, replaces=old)
                log.info(
                    "pool %s: replacing %s (%s) with %s",
                    worker.name,
                    old,
                    by_name[old].health,
                    new,
                )
            if step.retire or step.replace or step.refill:
                continue  # look again at once: what was just done changed the pool
            if not (step.in_flight or step.waiting):
                return
            self._check_time(worker, f"{step.in_flight} replacement(s) or refill(s) in flight")
            self.sleep(self.options.interval)

    def _retire(
        self, driver: LocalDriver, worker: Worker, by_name: dict[str, MachineState], old: str
    ) -> None:
        """Drain and delete ``old`` now that its replacement is Ready; record it."""
        machine = by_name[old]
        replacement = next(m.name for m in by_name.values() if m.replaces == old)
        report = self.drainer.drain([machine.node_name], unready={machine.node_name})
        driver.delete_machine(old)
        record = ReplacedMachine(
            machine=old, replacement=replacement, reason=machine.health, time=self.now()
        )
        self.result.replaced.append(record)
        log.info(
            "pool %s: replaced %s by %s (%d pod(s) evicted)",
            worker.name,
            old,
            replacement,
            report.evicted,
        )
        self._record(driver, worker, replaced=record)

    def _refill(self, driver: LocalDriver, worker: Worker, step: machine_health.HealthPlan) -> None:
        """Create one machine for the pool below its minimum; record it at once (the run
        may end before it boots)."""
        new = driver.create_machine(worker, refill=True)
        reason = f"pool {worker.name} had {step.machines} of its minimum {worker.minimum} machines"
        record = RefilledMachine(machine=new, reason=reason, time=self.now())
        self.result.refilled.setdefault(worker.name, []).append(record)
        log.info("pool %s: refilling with %s: %s", worker.name, new, reason)
        self._record(driver, worker, refilled=record)

    def _record(
        self,
        driver: LocalDriver,
        worker: Worker,
        *,
        replaced: ReplacedMachine | None = None,
        refilled: RefilledMachine | None = None,
    ) -> None:
        previous = ShootStatus.from_shoot(self.shoots.get(self.project, self.name)).workers
        earlier = previous.get(worker.name)
        now = pool_status(
            worker,
            driver.list_machines(worker.name),
            updated=earlier.updated if earlier else None,
            rollout=earlier.rollout if earlier else None,
        )
        entry = replace(
            now,
            last_update_time=self.now(),
            replaced=(*(earlier.replaced if earlier else ()), *([replaced] if replaced else [])),
            refilled=(*(earlier.refilled if earlier else ()), *([refilled] if refilled else [])),
        )
        self.shoots.write(self.project, self.name, StatusPatch(workers={worker.name: entry}))
