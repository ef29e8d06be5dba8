"""The shoot's machines: the machine controller (kwok) and the worker pools it runs.

kwok runs in the seed beside the control plane and needs a ClusterRole in the
shoot; that ClusterRole and its binding are the only objects reconcile puts into
the shoot itself. Worker pools only ever grow to their minimum here (replacing
machines is a rollout's job); destroy removes every machine of the spec's pools.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from airflow_provider_garden.agent import workers as pools
from airflow_provider_garden.agent.components.secrets import ShootAccess
from airflow_provider_garden.agent.components.seed_objects import SeedObjects, describe, ref
from airflow_provider_garden.core.component import NotReady
from airflow_provider_garden.core.controlplane import manifests as m
from airflow_provider_garden.core.shoot_spec import Worker
from airflow_provider_garden.drivers import local as local_driver
from airflow_provider_garden.drivers.base import MachineState
from airflow_provider_garden.kube.client import KubeClient, Manifest
from airflow_provider_garden.kube.workload import deployment_available

log = logging.getLogger(__name__)


class MachineController(SeedObjects):
    name = "machine controller (kwok)"

    def __init__(self, kube: KubeClient, cp: m.ControlPlane, shoot: ShootAccess) -> None:
        super().__init__(kube, cp)
        self.shoot = shoot

    def manifests(self) -> list[Manifest]:
        return local_driver.controller_seed_manifests(self.cp)

    def deploy(self) -> None:
        super().deploy()
        for obj in local_driver.controller_shoot_manifests():
            self.shoot.client().apply(obj)

    def wait(self) -> None:
        if not deployment_available(self.kube, self.cp.namespace, local_driver.KWOK_NAME):
            raise self.not_ready(
                local_driver.KWOK_NAME, f"{local_driver.KWOK_NAME} is not available yet"
            )

    def destroy(self) -> None:
        # Its objects in the shoot live in etcd, which is destroyed later anyway: removing
        # them first is tidiness, so an unanswering shoot API does not stop the delete.
        try:
            if self.shoot.reachable():
                shoot = self.shoot.client()
                for obj in reversed(local_driver.controller_shoot_manifests()):
                    if shoot.delete(*ref(obj)):
                        log.info("%s: deleting %s in the shoot", self.name, describe(ref(obj)))
            else:
                log.info("%s: the shoot's API is down; its objects there go with etcd", self.name)
        except Exception as err:  # any failure there is left to etcd's removal
            log.warning("%s: not removed from the shoot (%s); they go with etcd", self.name, err)
        super().destroy()


class WorkerPools:
    """The spec's pools through the shoot's machine driver; ``machines`` is the last look."""

    name = "worker pools"

    def __init__(
        self, shoot: ShootAccess, workers: Sequence[Worker], annotations: Mapping[str, str]
    ) -> None:
        self.shoot = shoot
        self.workers = tuple(workers)
        self.config = local_driver.LocalDriverConfig.from_annotations(annotations)
        self.machines: dict[str, list[MachineState]] | None = None

    def driver(self) -> local_driver.LocalDriver:
        return local_driver.LocalDriver(
            shoot_api=self.shoot.client(), shoot=self.shoot.admin.cp.shoot, config=self.config
        )

    def deploy(self) -> None:
        pools.ensure_minimum(self.driver(), self.workers)

    def wait(self) -> None:
        self.machines = pools.observe(self.driver(), self.workers)
        lacking = pools.pools_ready(self.machines, self.workers)
        if lacking:
            raise NotReady(f"worker pools without enough Ready machines: {lacking}")

    def destroy(self) -> None:
        driver = self.driver()
        for pool, machines in pools.observe(driver, self.workers).items():
            doomed = [mc.name for mc in machines if not mc.deleting]
            for name in doomed:
                driver.delete_machine(name)
            if doomed:
                log.info("worker pool %s: deleting %d machine(s)", pool, len(doomed))

    def wait_cleanup(self) -> None:
        self.machines = pools.observe(self.driver(), self.workers)
        left = sum(len(machines) for machines in self.machines.values())
        if left:
            raise NotReady(f"worker pools: {left} machine(s) still there")
