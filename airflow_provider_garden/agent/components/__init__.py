"""A shoot's components as they run in (and from) the seed, each with deploy/wait/destroy.

``core/component.py`` says what a component offers; the modules here do the I/O
(rendering stays in ``core/controlplane``). ``agent/shoot_reconcile.py`` and
``agent/shoot_delete.py`` only wire the same :class:`ShootComponents`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from airflow_provider_garden.agent.components.backup import BackupInfrastructure
from airflow_provider_garden.agent.components.controllers import (
    KubeControllerManager,
    KubeScheduler,
)
from airflow_provider_garden.agent.components.etcd import Etcd
from airflow_provider_garden.agent.components.kube_apiserver import (
    KubeAPIServer,
    KubeAPIServerService,
)
from airflow_provider_garden.agent.components.machines import MachineController, WorkerPools
from airflow_provider_garden.agent.components.member_access import MemberAccess
from airflow_provider_garden.agent.components.namespace import ControlPlaneNamespace
from airflow_provider_garden.agent.components.secrets import (
    AdminKubeconfig,
    ControlPlaneSecrets,
    ShootAccess,
)
from airflow_provider_garden.agent.components.secrets_at_rest import SecretsAtRest
from airflow_provider_garden.agent.etcd_journal import refuse_open_restore
from airflow_provider_garden.agent.preflight import check_spec
from airflow_provider_garden.core.component import Component
from airflow_provider_garden.core.controlplane.manifests import ControlPlane
from airflow_provider_garden.core.flow import Retry
from airflow_provider_garden.core.shoot_spec import Backup, Worker, parse_shoot
from airflow_provider_garden.drivers.base import MachineState
from airflow_provider_garden.kube.client import KubeClient, Manifest


class Machines(Component, Protocol):
    """Worker pools also tell what they last saw (for the EveryNodeReady condition)."""

    @property
    def machines(self) -> dict[str, list[MachineState]] | None: ...


@dataclass(frozen=True, kw_only=True)
class ShootComponents:
    """Everything reconcile makes for one shoot, and what delete removes again."""

    namespace: Component
    apiserver_service: Component
    secrets: Component
    backup: Component
    etcd: Component
    kube_apiserver: Component
    kube_controller_manager: Component
    kube_scheduler: Component
    admin_kubeconfig: Component
    member_access: Component  # the member groups' bindings in the shoot
    secrets_at_rest: Component  # Secrets written before encryption, written again
    machine_controller: Component
    worker_pools: Machines
    has_workers: bool
    # Whether the shoot's own API answers (for destroying what lives inside the shoot).
    shoot_reachable: Callable[[], bool]
    # Raises NotReady until the shoot's API answers at the address the agent uses.
    shoot_answers: Callable[[], None]
    # Raises before anything is deployed when the spec or a Secret it names is wrong.
    check_spec: Callable[[], None]
    # Raises naming the phase while an etcd restore of this shoot is open (its journal).
    restore_closed: Callable[[], None]


def shoot_components(
    kube: KubeClient,
    shoot: Manifest,
    cp: ControlPlane,
    *,
    workers: Sequence[Worker],
    backup: Backup | None,
    garden_namespace: str | None,
    toolbox_image: str | None = None,
) -> ShootComponents:
    """The components of one shoot; ``garden_namespace`` (the install's) is needed to deploy,
    ``toolbox_image`` to give etcd its data check (a shoot with ``spec.backup``)."""
    service = KubeAPIServerService(kube, cp)
    secrets = ControlPlaneSecrets(kube, cp, service)
    apiserver = KubeAPIServer(kube, cp)
    admin = AdminKubeconfig(kube, cp, service, secrets)
    access = ShootAccess(kube, admin, apiserver)
    annotations = shoot["metadata"].get("annotations") or {}
    uid = shoot["metadata"].get("uid")
    return ShootComponents(
        namespace=ControlPlaneNamespace(kube, cp),
        apiserver_service=service,
        secrets=secrets,
        backup=BackupInfrastructure(
            kube,
            cp,
            backup,
            garden_namespace=garden_namespace,
            shoot_uid=uid,
        ),
        etcd=Etcd(kube, cp, backup=backup, toolbox_image=toolbox_image, shoot_uid=uid),
        kube_apiserver=apiserver,
        kube_controller_manager=KubeControllerManager(kube, cp),
        kube_scheduler=KubeScheduler(kube, cp),
        admin_kubeconfig=admin,
        member_access=MemberAccess(access),
        secrets_at_rest=SecretsAtRest(access, secrets),
        machine_controller=MachineController(kube, cp, access),
        worker_pools=WorkerPools(access, workers, annotations),
        has_workers=bool(workers),
        shoot_reachable=access.reachable,
        shoot_answers=access.wait_answering,
        check_spec=lambda: check_spec(kube, parse_shoot(shoot), garden_namespace=garden_namespace),
        restore_closed=lambda: refuse_open_restore(kube, cp.namespace),
    )


# How long and how often a flow asks a component whether it serves (or is gone):
# one setting for every wait of reconcile and delete.
WAIT = Retry(timeout=dt.timedelta(minutes=5), interval=dt.timedelta(seconds=1))
