"""Every operator of the provider, as the kill matrix runs it: the one registry.

An entry says how to construct an operator for a run whose pod stays Running long
enough to be killed (the agent sleeps before its verb while the environment
variable ``GARDEN_AGENT_HOLD_SECONDS`` is set: the documented test seam of
`garden-agent`), what must exist before it runs, and in which modes it runs.
`cases()` crosses the entries with the exit paths; the DAG file
``tests/e2e/dags/e2e_kill_matrix.py`` turns each case into a DAG and the tests drive
them. An operator class that ``get_provider_info`` exports without an entry here
fails the registry test (`missing_entries`): an operator added to the provider
joins the matrix by adding one entry.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator

from airflow_provider_garden.core import naming
from airflow_provider_garden.get_provider_info import get_provider_info
from airflow_provider_garden.localseed.profile import local_profile
from airflow_provider_garden.operators.etcd import (
    EtcdBackupOperator,
    EtcdRestoreDrillOperator,
    EtcdRestoreOperator,
)
from airflow_provider_garden.operators.kustomize import KustomizeApplyOperator
from airflow_provider_garden.operators.machines import MachineRolloutOperator
from airflow_provider_garden.operators.pod import AgentPodOperator
from airflow_provider_garden.operators.selfcheck import ToolboxCheckOperator
from airflow_provider_garden.operators.shoot import ShootCreateOperator, ShootDeleteOperator

HOLD_ENV = "GARDEN_AGENT_HOLD_SECONDS"
GARDEN_NAMESPACE = "garden-system"
# The shoot the shoot-bound operators act on, provisioned once by `garden_provision`.
PROJECT = "kmx"
SHOOT = "target"
POOL = "pool-a"
SHOOT_CONF: dict[str, Any] = {
    "project": PROJECT,
    "name": SHOOT,
    "kubernetes_version": local_profile().kubernetes_versions[0],
    "networking": {"pods": "100.96.0.0/11", "services": "100.64.0.0/13"},
    "workers": [
        {
            "name": POOL,
            "machine": {"type": "local", "image": {"name": "gardenlinux", "version": "1592.1"}},
            "minimum": 1,
            "maximum": 2,
            "maxSurge": 1,
            "maxUnavailable": 0,
        }
    ],
    "backup": {"store": {"kind": "local"}, "retention": {"policy": "Exponential"}},
    "maintenance_window": {"begin": "220000+0000", "end": "230000+0000"},
}
# ShootCreateOperator's spec for that shoot: exactly what garden_provision applies.
SHOOT_SPEC: dict[str, Any] = {
    "kubernetes": {"version": SHOOT_CONF["kubernetes_version"]},
    "networking": SHOOT_CONF["networking"],
    "workers": SHOOT_CONF["workers"],
    "maintenance": {"timeWindow": SHOOT_CONF["maintenance_window"]},
    "backup": SHOOT_CONF["backup"],
}
KUSTOMIZE_NAMESPACE = "kmx-kustomize"
OVERLAY = Path(__file__).resolve().parent / "overlay"
MISSING_IMAGE = "localhost/garden/kill-matrix-missing:0"
#: `[garden] instance` of the e2e Airflow: the reaper test labels its hand-made pods with it
INSTANCE = "garden-e2e"
NOWHERE = {"garden.airflow.io/kill-matrix": "nowhere"}
# Long enough that only the test ends the hold (by killing the task, or by creating the
# agent's hold-release file once a retry runs beside the pod).
HOLD_SECONDS = 600
# Long enough that a deferred task stays deferred a while under load, before the trigger
# fires: a trigger firing right after the deferral meets an Airflow scheduler race.
EXECUTION_TIMEOUT = timedelta(seconds=40)


class Needs(StrEnum):
    """What must exist before an operator's cases run."""

    SHOOT = "the matrix shoot, provisioned by garden_provision (kmx/target)"
    KUSTOMIZE_NAMESPACE = "namespace kmx-kustomize, bound to garden-kustomize"


class Mode(StrEnum):
    SYNC = "sync"
    DEFERRABLE = "deferrable"


class ExitPath(StrEnum):
    MARK_FAILED = "mark_failed"  # deferrable: the trigger is cancelled (its on_kill)
    MARK_SUCCESS = "mark_success"  # deferrable: the trigger is cancelled too
    EXECUTION_TIMEOUT = "execution_timeout"
    SIGTERM_WORKER = "sigterm_worker"  # a worker process exists only in sync mode
    STARTUP_IMAGE = "startup_image"  # image not present, imagePullPolicy Never
    STARTUP_UNSCHEDULABLE = "startup_unschedulable"  # a node selector no node matches
    CRASH_BEFORE_RESULT = "crash_before_result"  # the agent dies before writing a result
    KILL_AND_RETRY = "kill_and_retry"  # SIGKILL the task process; the retry reattaches


SYNC_ONLY_PATHS = frozenset({ExitPath.SIGTERM_WORKER, ExitPath.KILL_AND_RETRY})


@dataclass(frozen=True)
class MatrixOperator:
    """One operator class and how the matrix runs it.

    :param key: short name used in DAG ids.
    :param build: constructor arguments (besides task_id and the path's own) for a case.
    :param pod_namespace: where its pods run.
    :param lease_bound: the task's pod holds the shoot's operation Lease for its whole
        run, so its cases run one at a time (a second would wait for the Lease).
    """

    key: str
    cls: type[AgentPodOperator]
    build: Callable[[str], dict[str, Any]]
    needs: frozenset[Needs] = frozenset()
    modes: tuple[Mode, ...] = (Mode.SYNC, Mode.DEFERRABLE)
    pod_namespace: str = GARDEN_NAMESPACE
    lease_bound: bool = False


CONTROL_PLANE = naming.controlplane_namespace(PROJECT, SHOOT)

REGISTRY: tuple[MatrixOperator, ...] = (
    MatrixOperator(key="toolbox", cls=ToolboxCheckOperator, build=lambda case: {}),
    MatrixOperator(
        key="shoot_create",
        cls=ShootCreateOperator,
        build=lambda case: {"project": PROJECT, "name": SHOOT, "spec": SHOOT_SPEC},
        needs=frozenset({Needs.SHOOT}),
    ),
    MatrixOperator(
        key="shoot_delete",
        cls=ShootDeleteOperator,
        # A shoot that does not exist: the verb, when it runs, reports it Absent.
        build=lambda case: {"project": "kmx-absent", "name": case.replace("_", "-")[:40]},
    ),
    MatrixOperator(
        key="kustomize",
        cls=KustomizeApplyOperator,
        build=lambda case: {
            "inventory_id": f"kmx-{case.replace('_', '-')}"[:50],
            "source_path": str(OVERLAY),
            "target": "seed",
            "default_namespace": KUSTOMIZE_NAMESPACE,
            "wait_timeout": 30,
        },
        needs=frozenset({Needs.KUSTOMIZE_NAMESPACE}),
    ),
    MatrixOperator(
        key="etcd_backup",
        cls=EtcdBackupOperator,
        build=lambda case: {"project": PROJECT, "name": SHOOT},
        needs=frozenset({Needs.SHOOT}),
        pod_namespace=CONTROL_PLANE,
    ),
    MatrixOperator(
        key="etcd_restore",
        cls=EtcdRestoreOperator,
        build=lambda case: {"project": PROJECT, "name": SHOOT},
        needs=frozenset({Needs.SHOOT}),
        modes=(Mode.SYNC,),  # it forces sync: the task reports the pod's end itself
        pod_namespace=CONTROL_PLANE,
        lease_bound=True,
    ),
    MatrixOperator(
        # Its retry case drills for real: the matrix shoot has a good snapshot from
        # garden_provision's first backup (and etcd_backup's retry, which runs before).
        key="etcd_drill",
        cls=EtcdRestoreDrillOperator,
        build=lambda case: {"project": PROJECT, "name": SHOOT},
        needs=frozenset({Needs.SHOOT}),
        modes=(Mode.SYNC,),  # it forces sync: the task records a pod that died unrecorded
        pod_namespace=CONTROL_PLANE,
    ),
    MatrixOperator(
        key="machine_rollout",
        cls=MachineRolloutOperator,
        # No image_version: it rolls to the version the spec names (nothing to replace).
        build=lambda case: {"project": PROJECT, "name": SHOOT, "worker_pool": POOL},
        needs=frozenset({Needs.SHOOT}),
        pod_namespace=naming.project_namespace(PROJECT),
    ),
)


@dataclass(frozen=True)
class Case:
    op: MatrixOperator
    mode: Mode
    path: ExitPath
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.op.key}-{self.mode}-{self.path}"

    @property
    def dag_id(self) -> str:
        return f"kmx_{self.op.key}_{self.mode}_{self.path}"

    def operator_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            **self.op.build(f"{self.mode}_{self.path}"),
            "deferrable": self.mode is Mode.DEFERRABLE,
            "retries": 0,
        }
        path = self.path
        if path in (
            ExitPath.MARK_FAILED,
            ExitPath.MARK_SUCCESS,
            ExitPath.EXECUTION_TIMEOUT,
            ExitPath.SIGTERM_WORKER,
        ):
            kwargs["env_vars"] = {HOLD_ENV: str(HOLD_SECONDS)}
        if path is ExitPath.EXECUTION_TIMEOUT:
            kwargs["execution_timeout"] = EXECUTION_TIMEOUT
        if path is ExitPath.STARTUP_IMAGE:
            kwargs.update(image=MISSING_IMAGE, image_pull_policy="Never")
        if path is ExitPath.STARTUP_UNSCHEDULABLE:
            kwargs.update(node_selector=NOWHERE, startup_timeout_seconds=5)
        if path is ExitPath.CRASH_BEFORE_RESULT:
            # Not a number: the agent raises before its verb, exit 1, no result written.
            kwargs["env_vars"] = {HOLD_ENV: "crash-before-result"}
        if path is ExitPath.KILL_AND_RETRY:
            kwargs["env_vars"] = {HOLD_ENV: str(HOLD_SECONDS)}
            kwargs.update(retries=1, retry_delay=timedelta(seconds=1))
        return {**kwargs, **self.extra}


def exported_operator_classes() -> list[type[BaseOperator]]:
    """Concrete operator classes of the modules get_provider_info lists as operators."""
    found: list[type[BaseOperator]] = []
    for group in get_provider_info()["operators"]:
        for module_name in group["python-modules"]:
            module = importlib.import_module(module_name)
            for name, obj in vars(module).items():
                if (
                    inspect.isclass(obj)
                    and issubclass(obj, BaseOperator)
                    and obj.__module__ == module.__name__
                    and not name.startswith("_")
                    and not (issubclass(obj, AgentPodOperator) and not obj.verb)
                ):
                    found.append(obj)
    return sorted(found, key=lambda c: c.__name__)


def missing_entries(registry: Sequence[MatrixOperator] = REGISTRY) -> list[str]:
    """Exported operator classes without an entry in `registry` (their names)."""
    registered = {entry.cls for entry in registry}
    return sorted(c.__name__ for c in exported_operator_classes() if c not in registered)


def cases(entries: Sequence[MatrixOperator] = REGISTRY) -> list[Case]:
    """Every (operator, mode, exit path) the matrix runs for `entries`.

    An exported operator without an entry runs no case: the registry test
    (`missing_entries`) fails on it.
    """
    return [
        Case(op=op, mode=mode, path=path)
        for op in entries
        for mode in op.modes
        for path in ExitPath
        if mode is Mode.SYNC or path not in SYNC_ONLY_PATHS
    ]
