"""MachineRolloutOperator: roll a shoot's worker pool to a machine image version.

The pod runs ``garden-agent machines rollout`` (see :mod:`..agent.machine_rollout`
for the safety rules: pre-flight, fenceposts, Eviction-API drains, freeze,
resume, Lease).

Where the pod runs, and why: in the shoot's project namespace ``garden-<project>``,
because the shoot's admin kubeconfig Secret lives there and a pod can mount only
Secrets of its own namespace (reading it through the seed API instead would need
a seed role that reads every project's kubeconfig Secrets: RBAC cannot scope
Secrets by name pattern). Its ServiceAccount ``garden-machines`` is created in
that namespace right before the pod, bound to the ``garden-machines`` ClusterRole
that ``garden install`` ships: read the Shoot, patch it (the target image version,
written by the pod under the Lease) and its status, hold its operation Lease,
nothing else in the seed. Everything else happens in the shoot.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kubernetes.client import models as k8s

from airflow_provider_garden.core import intstr, naming
from airflow_provider_garden.core.error_codes import ended_state, last_errors
from airflow_provider_garden.core.shoot_spec import parse_shoot
from airflow_provider_garden.core.spec_fields import FieldError, SpecError
from airflow_provider_garden.core.status import OperationState, OperationType, ShootStatus
from airflow_provider_garden.kube import cloudprofile
from airflow_provider_garden.kube.rbac import controlplane_account
from airflow_provider_garden.operators.pod import (
    AgentResultError,
    AgentStartupError,
    SecretMount,
)
from airflow_provider_garden.operators.shoot_pod import ShootPodOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

SHOOT_MOUNT = "/var/run/garden/shoot"
ACCOUNT = "garden-machines"
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_VERSION = re.compile(r"[0-9]+(\.[0-9]+)+")


class MachineRolloutOperator(ShootPodOperator):
    """Replace the machines of a worker pool with machines on a new image version.

    New machines are created first (at most ``maxSurge`` beyond the pool's size),
    old ones are cordoned, drained through the Eviction API (PodDisruptionBudgets
    respected) and deleted, never leaving fewer than ``size - maxUnavailable``
    machines Ready. The rollout refuses to start when a budget allows no
    disruption or too many machines are unhealthy, freezes (old machines left
    serving) when new machines keep failing to become Ready, and resumes where it
    stopped when re-run. Progress is in the Shoot's ``status.workers.<pool>`` and
    ``status.lastOperation``.

    Returns (as XCom) the rollout's counts: machines created, drained, deleted,
    evictions, seconds, API calls; never a credential.

    :param project: project of the shoot (templated).
    :param name: shoot name (templated).
    :param worker_pool: worker pool to roll (templated). Not ``pool``: that is the
        Airflow pool every operator already takes.
    :param image_version: target machine image version (templated); when given, the
        pod writes it into the Shoot's spec first, holding the shoot's operation Lease
        (it must be offered by the CloudProfile, checked before the pod starts);
        default: roll to the version the spec already names.
    :param force_drain: after ``drain_timeout`` delete the pods left past their
        budgets, start even when a budget allows no disruption, and evict bare pods
        (no controller) and pods with emptyDir data; default: refuse or stop with a
        message naming what blocks.
    :param creation_timeout: seconds a new machine may take to become Ready (default:
        ``[garden] machine_creation_timeout_seconds``).
    :param drain_timeout: seconds one drain may take (default: ``[garden] drain_timeout_seconds``).
    :param max_unhealthy: refuse to start when more machines than this (a count or a
        percentage) are not Ready.
    :param freeze_after: freeze after this many new machines failed to become Ready.
    """

    template_fields: Sequence[str] = (
        *ShootPodOperator.template_fields,
        "worker_pool",
        "image_version",
    )
    verb = ("machines", "rollout")
    service_account = ACCOUNT

    def __init__(
        self,
        *,
        project: str,
        name: str,
        worker_pool: str,
        image_version: str | None = None,
        force_drain: bool = False,
        creation_timeout: float | None = None,
        drain_timeout: float | None = None,
        max_unhealthy: int | str = "25%",
        freeze_after: int = 3,
        **kwargs: Any,
    ) -> None:
        super().__init__(project=project, name=name, **kwargs)
        self.worker_pool = worker_pool
        self.image_version = image_version
        self.force_drain = force_drain
        defaults = self.settings
        self.creation_timeout = (
            defaults.machine_creation_timeout.total_seconds()
            if creation_timeout is None
            else creation_timeout
        )
        self.drain_timeout = (
            defaults.drain_timeout.total_seconds() if drain_timeout is None else drain_timeout
        )
        self.max_unhealthy = max_unhealthy
        self.freeze_after = freeze_after

    # --- before anything is created -----------------------------------------------------
    def validate_inputs(self) -> None:
        errors = self._check_fields()
        if not errors:
            errors = self._check_shoot()
        if errors:
            raise SpecError(f"MachineRolloutOperator {self.task_id}", errors)

    def _check_fields(self) -> list[FieldError]:
        errors = [
            FieldError(field, f"{value!r} must be a DNS-1123 label")
            for field, value in (
                ("project", self.project),
                ("name", self.shoot_name),
                ("worker_pool", self.worker_pool),
            )
            if not _DNS_LABEL.fullmatch(str(value))
        ]
        if self.image_version and not _VERSION.fullmatch(str(self.image_version)):
            errors.append(
                FieldError("image_version", f"{self.image_version!r} must look like 1592.2")
            )
        for field, seconds in (
            ("creation_timeout", self.creation_timeout),
            ("drain_timeout", self.drain_timeout),
        ):
            if not 0 < seconds <= 7 * 24 * 3600:
                errors.append(FieldError(field, "must be between 0 and 604800 seconds"))
        if self.freeze_after < 1:
            errors.append(FieldError("freeze_after", f"must be >= 1, got {self.freeze_after}"))
        try:
            intstr.check(self.max_unhealthy)
        except ValueError as err:
            errors.append(FieldError("max_unhealthy", str(err)))
        return errors

    def _check_shoot(self) -> list[FieldError]:
        shoot = self.garden.shoots.find(self.project, self.shoot_name)
        if shoot is None:
            return [FieldError("name", f"shoot {self.project}/{self.shoot_name} does not exist")]
        workers = {w.name: w for w in parse_shoot(shoot).workers}
        worker = workers.get(self.worker_pool)
        if worker is None:
            pools = ", ".join(workers) or "none"
            return [
                FieldError(
                    "worker_pool", f"{self.worker_pool!r} is not a pool of the shoot ({pools})"
                )
            ]
        if not self.image_version:
            return []
        profile = cloudprofile.read(self.garden.kube, self.settings.namespace)
        offered = profile.offer()["offered_machine_images"] or {}
        usable = offered.get(worker.image.name, ())
        if self.image_version not in usable:
            return [
                FieldError(
                    "image_version",
                    f"{worker.image.name} {self.image_version} is not offered or expired "
                    f"(offered: {', '.join(usable) or 'none'})",
                )
            ]
        return []

    def before_pod(self, context: Context) -> None:
        """The account, and the pod's place, mounts and arguments (the Shoot is not written)."""
        project_ns = naming.project_namespace(self.project)
        for obj in controlplane_account(
            ACCOUNT,
            controlplane_namespace=project_ns,
            garden_namespace=self.settings.namespace,
        ):
            self.garden.kube.apply(obj)
        mount = SecretMount(
            secret_name=naming.kubeconfig_secret(self.shoot_name), mount_path=SHOOT_MOUNT
        )
        self.namespace = project_ns
        self.volumes = [
            *self.volumes,
            k8s.V1Volume(
                name=mount.volume_name,
                secret=k8s.V1SecretVolumeSource(secret_name=mount.secret_name, default_mode=0o400),
            ),
        ]
        self.volume_mounts = [
            *self.volume_mounts,
            k8s.V1VolumeMount(name=mount.volume_name, mount_path=SHOOT_MOUNT, read_only=True),
        ]
        args = [
            *("--project", self.project),
            *("--name", self.shoot_name),
            *("--pool", self.worker_pool),
            *("--shoot-kubeconfig", f"{SHOOT_MOUNT}/kubeconfig"),
            *("--creation-timeout", str(self.creation_timeout)),
            *("--drain-timeout", str(self.drain_timeout)),
            *("--max-unhealthy", str(self.max_unhealthy)),
            *("--freeze-after", str(self.freeze_after)),
        ]
        args += ["--force-drain"] if self.force_drain else []
        # The pod writes it into the spec, holding the shoot's Lease: nothing here does.
        args += ["--image-version", str(self.image_version)] if self.image_version else []
        self.arguments = self.agent_command(*args)

    # --- after the pod -------------------------------------------------------------------
    def validate_result(self, result: dict[str, Any]) -> dict[str, Any]:
        image = result.get("image") or {}
        if (
            result.get("state") != OperationState.SUCCEEDED
            or result.get("pool") != self.worker_pool
            or (self.image_version and image.get("version") != self.image_version)
        ):
            raise AgentResultError(
                f"rollout of {self.project}/{self.shoot_name} pool {self.worker_pool} did not "
                f"succeed: {result}"
            )
        self.log.info("pool %s: %s", self.worker_pool, result.get("summary"))
        return result

    def on_failure(self, error: Exception) -> None:
        """Leave the truth in the Shoot when the pod could not (it died or never ran), with
        the error's codes and the state they call for (``core.error_codes``)."""
        shoot = self.garden.shoots.find(self.project, self.shoot_name)
        if shoot is None:
            return
        status = ShootStatus.from_shoot(shoot)
        pool = status.workers.get(self.worker_pool)
        rollout, last = pool.rollout if pool else None, status.last_operation
        ended = rollout and rollout.state.ended_badly and last and last.state.ended_badly
        if ended and not isinstance(error, AgentStartupError):
            return  # the agent recorded how it ended
        errors = last_errors([(self.task_id, error)])
        self.garden.shoots.report(
            self.project,
            self.shoot_name,
            type_=OperationType.RECONCILE,
            state=ended_state(errors),
            progress=last.progress if last else 0,
            description=f"rollout of worker pool {self.worker_pool}: task {self.task_id} failed: "
            f"{type(error).__name__}",
            errors=errors,
        )
