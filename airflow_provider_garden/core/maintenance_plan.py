"""What maintenance does to one shoot at one moment: a pure plan from spec and offers.

Inside the shoot's window: a Kubernetes patch update when autoUpdate asks for it or
the running version is no longer offered (expired), and a machine-image update per
worker pool under the same two rules. Outside the window: nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from airflow_provider_garden.core.fields import Field, FieldTable, Record, as_named, given
from airflow_provider_garden.core.maintenance import patch_update_target, window_of
from airflow_provider_garden.core.shoot_spec import ShootSpec
from airflow_provider_garden.core.version_life import Offering


@dataclass(frozen=True, kw_only=True)
class PoolUpdate(Record):
    FIELDS = FieldTable(
        Field("pool", given(required=True)),
        Field("image", given(required=True)),
        Field("version", given(required=True)),
        naming=as_named,
    )
    PATH = "pool update"

    pool: str
    image: str
    version: str


@dataclass(frozen=True, kw_only=True)
class MaintenancePlan:
    project: str
    name: str
    kubernetes_version: str | None
    pools: tuple[PoolUpdate, ...]

    @property
    def empty(self) -> bool:
        return self.kubernetes_version is None and not self.pools

    @property
    def description(self) -> str:
        parts = [f"Kubernetes {self.kubernetes_version}"] if self.kubernetes_version else []
        parts += [f"pool {u.pool} to {u.image} {u.version}" for u in self.pools]
        return "; ".join(parts) or "nothing to update"


def plan_maintenance(
    spec: ShootSpec,
    *,
    at: dt.datetime,
    offering: Offering,
) -> MaintenancePlan | None:
    """The plan for ``spec`` at ``at``; None when ``at`` is outside its window. A version
    maintenance may not choose by itself (preview) is never a target; an expired one is
    left even without autoUpdate."""
    if not window_of(spec.maintenance).current(at):
        return None
    kubernetes = patch_update_target(
        spec.kubernetes_version,
        offering.kubernetes.automatic,
        auto_update=spec.maintenance.auto_update_kubernetes,
        usable=offering.kubernetes.usable,
    )
    pools = []
    for worker in spec.workers:
        offered = offering.images.get(worker.image.name)
        if offered is None or not offered.usable:
            continue  # an image the seed does not know: validation reports it
        target = patch_update_target(
            worker.image.version,
            offered.automatic,
            auto_update=spec.maintenance.auto_update_machine_image,
            usable=offered.usable,
        )
        if target is not None:
            pools.append(PoolUpdate(pool=worker.name, image=worker.image.name, version=target))
    return MaintenancePlan(
        project=spec.project, name=spec.name, kubernetes_version=kubernetes, pools=tuple(pools)
    )
