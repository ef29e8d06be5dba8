"""``garden_maintenance`` over the fleet: one entry per shoot, broken ones included.

Planning never fails for the fleet because one Shoot is broken: a window the CRD
accepts but the rules refuse, a machine image or Kubernetes version withdrawn with
no successor offered, or a spec that does not parse becomes that shoot's
``problem`` (naming the field), which fails only that shoot's mapped task. A shoot
with a broken window is included in every run (whether its window is open cannot
be known), so it is reported until someone fixes it.

Afterwards, :func:`judge` reads the Shoot back: maintenance Succeeded only when
everything planned happened (the running Kubernetes version, each pool's machines
on the target image), otherwise Failed naming what did not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from airflow_provider_garden.core.fields import Field, FieldTable, Record, as_named, given
from airflow_provider_garden.core.maintenance import patch_update_target, window_of
from airflow_provider_garden.core.maintenance_plan import PoolUpdate, plan_maintenance
from airflow_provider_garden.core.naming import shoot_key
from airflow_provider_garden.core.shoot_spec import ShootSpec, parse_shoot
from airflow_provider_garden.core.spec_fields import SpecError
from airflow_provider_garden.core.status import OperationState, ShootStatus, StatusError
from airflow_provider_garden.core.version_life import Choice, Offering

WINDOW_FIELD = "spec.maintenance.timeWindow"


@dataclass(frozen=True, kw_only=True)
class ShootMaintenance(Record):
    """What one run does to one shoot (or why it cannot): one mapped task group."""

    FIELDS = FieldTable(
        Field("project", given(str, required=True)),
        Field("name", given(str, required=True)),
        Field("kubernetes_version", given()),
        Field("planned_from", given()),
        Field("pools", given(lambda pools: tuple(PoolUpdate.from_dict(u) for u in pools or ()))),
        Field("problem", given()),
        naming=as_named,
    )
    PATH = "shoot maintenance"

    project: str
    name: str
    kubernetes_version: str | None = None
    # spec.kubernetes.version as planned from: the update's compare-and-swap refuses a
    # spec that names another by the time the reconcile pod holds the Lease.
    planned_from: str | None = None
    pools: tuple[PoolUpdate, ...] = ()
    problem: str | None = None  # names the field; nothing is changed then

    @property
    def shoot(self) -> str:
        return f"{self.project}/{self.name}"

    @property
    def description(self) -> str:
        if self.problem:
            return f"not maintained: {self.problem}"
        parts = [f"Kubernetes {self.kubernetes_version}"] if self.kubernetes_version else []
        parts += [f"pool {u.pool} to {u.image} {u.version}" for u in self.pools]
        return "; ".join(parts) or "nothing to update"


def plan_shoot(
    shoot: Mapping[str, Any],
    *,
    at: dt.datetime,
    offering: Offering,
) -> ShootMaintenance | None:
    """The entry for one Shoot resource at ``at``; None when its window is closed. A
    version that is neither usable (expired) nor replaceable is reported, not planned."""
    project, name = shoot_key(shoot).split("/", 1)

    def broken(problem: str) -> ShootMaintenance:
        return ShootMaintenance(project=project, name=name, problem=problem)

    try:
        spec = parse_shoot(shoot)
        running = ShootStatus.from_shoot(shoot).kubernetes_version
    except (SpecError, StatusError) as err:
        return broken(str(err))
    if running:  # what runs, not what was asked for, decides expiry
        spec = _with_version(spec, running)
    try:
        window_of(spec.maintenance)
    except ValueError as err:
        return broken(f"{WINDOW_FIELD}: {err}")
    try:
        plan = plan_maintenance(spec, at=at, offering=offering)
        withdrawn = [] if plan is None else _withdrawn(spec, offering)
    except ValueError as err:  # a version that is no version (the schema should refuse it)
        return broken(f"versions: {err}")
    if plan is None:
        return None
    if withdrawn:
        return broken("; ".join(withdrawn))
    asked = ((shoot.get("spec") or {}).get("kubernetes") or {}).get("version")
    return ShootMaintenance(
        project=project,
        name=name,
        kubernetes_version=plan.kubernetes_version,
        planned_from=asked if plan.kubernetes_version else None,
        pools=plan.pools,
    )


def _withdrawn(spec: ShootSpec, offering: Offering) -> list[str]:
    """Fields naming something expired or no longer offered, with nothing to move to."""

    def stranded(version: str, choice: Choice) -> bool:
        return _unoffered(version, choice.usable) and not patch_update_target(
            version, choice.automatic, auto_update=False, usable=choice.usable
        )

    problems = []
    kubernetes = offering.kubernetes
    if stranded(spec.kubernetes_version, kubernetes):
        problems.append(
            f"spec.kubernetes.version: {spec.kubernetes_version} is expired or no longer "
            f"offered and no successor is (offered: {', '.join(kubernetes.automatic)})"
        )
    for i, worker in enumerate(spec.workers):
        image, path = worker.image, f"spec.workers[{i}].machine.image"
        choice = offering.images.get(image.name)
        if choice is None or not choice.usable:
            problems.append(
                f"{path}.name: machine image {image.name!r} (pool {worker.name}) is no longer "
                f"offered (offered: {', '.join(sorted(offering.images)) or 'none'})"
            )
        elif stranded(image.version, choice):
            problems.append(
                f"{path}.version: {image.name} {image.version} (pool {worker.name}) is expired "
                f"or no longer offered and no successor is (offered: "
                f"{', '.join(choice.automatic)})"
            )
    return problems


def judge(entry: ShootMaintenance, shoot: Mapping[str, Any] | None) -> tuple[OperationState, str]:
    """Succeeded only when everything planned is so now; else Failed and what is not."""
    if entry.problem:
        return OperationState.FAILED, entry.problem
    if shoot is None:
        return OperationState.FAILED, "the Shoot is gone"
    try:
        status = ShootStatus.from_shoot(shoot)
    except StatusError as err:
        return OperationState.FAILED, f"status cannot be read: {err}"
    misses = []
    if entry.kubernetes_version and not kubernetes_done(entry, status):
        misses.append(
            f"Kubernetes {entry.kubernetes_version} is not running "
            f"(running: {status.kubernetes_version or 'unknown'}; {_last_words(status)})"
        )
    for update in entry.pools:
        pool = status.workers.get(update.pool)
        rollout = pool.rollout if pool else None
        on_target = pool is not None and all(v.version == update.version for v in pool.versions)
        if (
            rollout is None
            or rollout.target_version != update.version
            or rollout.state is not OperationState.SUCCEEDED
            or not on_target
        ):
            seen = (
                f"rollout {rollout.state} to {rollout.target_version}: {rollout.description}"
                if rollout
                else "no rollout recorded"
            )
            misses.append(f"pool {update.pool} is not on {update.image} {update.version} ({seen})")
    if misses:
        return OperationState.FAILED, "; ".join(misses)
    return OperationState.SUCCEEDED, entry.description


def rollout_targets(
    entries: Sequence[ShootMaintenance], shoots: Mapping[str, Mapping[str, Any]]
) -> tuple[list[dict[str, str]], dict[str, str]]:
    """The rollouts to map (MachineRolloutOperator kwargs), and the shoots held back.

    A shoot's pools roll only once its own Kubernetes update (if planned) is running;
    another shoot's failed update holds back nothing but that shoot.
    """
    targets: list[dict[str, str]] = []
    held: dict[str, str] = {}
    for entry in entries:
        if entry.problem or not entry.pools:
            continue
        shoot = shoots.get(entry.shoot)
        if shoot is None:
            held[entry.shoot] = "the Shoot is gone"
            continue
        try:
            done = kubernetes_done(entry, ShootStatus.from_shoot(shoot))
        except StatusError as err:
            held[entry.shoot] = f"its status cannot be read: {err}"
            continue
        if not done:
            held[entry.shoot] = f"its Kubernetes update to {entry.kubernetes_version} failed"
            continue
        targets += [
            {
                "project": entry.project,
                "name": entry.name,
                "worker_pool": u.pool,
                "image_version": u.version,
            }
            for u in entry.pools
        ]
    return targets, held


def started(shoot: Mapping[str, Any]) -> dt.datetime | None:
    """When this maintenance was triggered (``prepare`` recorded it), if readable."""
    try:
        last = ShootStatus.from_shoot(shoot).last_maintenance
    except StatusError:
        return None
    return last.triggered_time if last else None


def kubernetes_done(entry: ShootMaintenance, status: ShootStatus) -> bool:
    """Whether the planned Kubernetes version (if any) is what the shoot runs."""
    if not entry.kubernetes_version:
        return True
    running = (status.kubernetes_version or "").removeprefix("v")
    return running == entry.kubernetes_version.removeprefix("v")


def _last_words(status: ShootStatus) -> str:
    last = status.last_operation
    said = f"last operation {last.type} {last.state}" if last else "no operation recorded"
    if status.last_errors:
        said += f": {status.last_errors[0].description}"
    elif last and last.description:
        said += f": {last.description}"
    return said


def _unoffered(version: str, offered: Sequence[str]) -> bool:
    return version.removeprefix("v") not in {v.removeprefix("v") for v in offered}


def _with_version(spec: ShootSpec, version: str) -> ShootSpec:
    return replace(spec, kubernetes_version=version.removeprefix("v"))
