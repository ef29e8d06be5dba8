"""EtcdBackupOperator, EtcdRestoreOperator and EtcdRestoreDrillOperator.

Their pods run in the shoot's control-plane namespace (as `garden-etcd`, which
shoot reconcile creates there): that is where the etcd client certificate, the
etcd volume and the snapshot store's volume or credentials can be mounted.
Where the snapshots go is read from the Shoot's `spec.backup` when the task runs.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException
from kubernetes.client import ApiClient

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.controlplane import etcd_pod
from airflow_provider_garden.core.controlplane import manifests as m
from airflow_provider_garden.core.error_codes import known_failure
from airflow_provider_garden.core.manifest import Manifest
from airflow_provider_garden.core.shoot_spec import Backup, SnapstoreKind, parse_shoot
from airflow_provider_garden.core.status import (
    DrillState,
    LastBackup,
    LastRestoreDrill,
    OperationState,
    OperationType,
    ShootStatus,
)
from airflow_provider_garden.core.store_space import parse_quantity
from airflow_provider_garden.operators.pod import AgentPodError, AgentResultError
from airflow_provider_garden.operators.shoot_pod import ShootPodOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

ETCD_DATA = "/var/lib/etcd"
# The XCom a failed backup leaves for garden_backup's report: {"shoot", "error"}.
BACKUP_ERROR_KEY = "error"
ERROR_TAIL = 1000


class _EtcdOperator(ShootPodOperator):
    service_account = "garden-etcd"
    # Whether the pod talks to the shoot's etcd (its client certificate mounted).
    reaches_etcd = True

    @cached_property
    def shoot(self) -> Manifest:
        return self.garden.shoots.get(self.project, self.shoot_name)

    @property
    def shoot_uid(self) -> str:
        """Snapshots are marked with it, and only its own are chosen (core/snapshot_owner)."""
        return str(self.shoot["metadata"]["uid"])

    @cached_property
    def backup_spec(self) -> Backup:
        spec = parse_shoot(self.shoot)
        if spec.backup is None:
            raise AgentResultError(
                f"Shoot {self.project}/{self.shoot_name} has no spec.backup: nothing says "
                "where its snapshots go"
            )
        return spec.backup

    def validate_inputs(self) -> None:
        self.backup_spec  # noqa: B018 - raises naming the missing field

    def before_pod(self, context: Context) -> None:
        """Compose where the pod runs and what it mounts, from the Shoot as it is now."""
        cp_ns = naming.controlplane_namespace(self.project, self.shoot_name)
        self.namespace = cp_ns
        store_v, store_m, store_args = etcd_pod.store_volumes(self.backup_spec)
        etcd_v, etcd_m, etcd_args = (
            etcd_pod.etcd_client_volumes(cp_ns) if self.reaches_etcd else ([], [], [])
        )
        extra_v, extra_m, extra_args = self.pod_extras(cp_ns)
        volumes = [*etcd_v, *store_v, *extra_v]
        mounts = [*etcd_m, *store_m, *extra_m]
        self.volumes = [*self.volumes, *(_model(v, "V1Volume") for v in volumes)]
        self.volume_mounts = [*self.volume_mounts, *(_model(v, "V1VolumeMount") for v in mounts)]
        uid_args = ["--shoot-uid", self.shoot_uid]
        self.arguments = self.agent_command(*store_args, *etcd_args, *uid_args, *extra_args)

    def pod_extras(self, cp_ns: str) -> tuple[list[Manifest], list[Manifest], list[str]]:
        return [], [], []


class EtcdBackupOperator(_EtcdOperator):
    """Take a verified full snapshot of a shoot's etcd and apply the Shoot's retention.

    A snapshot is registered as good only after ``etcdutl snapshot status`` passed and
    the stored object was re-read with the expected sha256. Returns its manifest
    (revision, size, sha256, ...; never a credential) and records it in the Shoot's
    ``status.lastBackup``.

    :param project: project of the shoot (templated).
    :param name: shoot name (templated).
    :param compress: gzip the snapshot before storing it.
    :param apply_retention: delete old snapshots by the Shoot's retention policy afterwards.
    """

    verb = ("etcd", "backup")

    def __init__(
        self, *, compress: bool = True, apply_retention: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.compress = compress
        self.apply_retention = apply_retention

    def pod_extras(self, cp_ns: str) -> tuple[list[Manifest], list[Manifest], list[str]]:
        spec = self.backup_spec
        args = ["--compress" if self.compress else "--no-compress"]
        if self.apply_retention:
            args += ["--retention", spec.policy.value]
            args += ["--max-backups", str(spec.max_backups or 7)]
        if spec.store.kind is SnapstoreKind.LOCAL:
            args += ["--store-capacity", str(self._store_capacity(cp_ns, spec))]
        return [], [], args

    def _store_capacity(self, cp_ns: str, spec: Backup) -> int:
        """The store claim's size (its provisioned capacity, else its request): an older
        shoot's claim may be larger than the spec's size, a refused expansion smaller.
        The spec's size while the claim does not exist yet."""
        claim = self.garden.kube.find("v1", "PersistentVolumeClaim", m.BACKUP_VOLUME_CLAIM, cp_ns)
        if claim is None:
            return spec.store.volume_bytes
        status = (claim.get("status") or {}).get("capacity") or {}
        requests = ((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}
        size = status.get("storage") or requests.get("storage")
        return parse_quantity(size) if size else spec.store.volume_bytes

    def execute(self, context: Context) -> Any:
        with self._known_cause_is_final():
            return super().execute(context)

    def trigger_reentry(self, context: Context, event: dict[str, Any]) -> Any:
        with self._known_cause_is_final():
            return super().trigger_reentry(context, event)

    @contextmanager
    def _known_cause_is_final(self) -> Iterator[None]:
        """A pod that ended on a known cause (a full store) fails without a retry: the
        same store is as full a minute later."""
        try:
            yield
        except AgentPodError as err:
            known = known_failure(str(err))
            if known is None:
                raise
            raise AirflowFailException(f"{self.project}/{self.shoot_name}: {known}") from err

    def on_failure(self, error: Exception) -> None:
        """Leave why for the run's report: the known cause the pod ended on, else the error."""
        from airflow.sdk import get_current_context

        text = str(error)
        reason = known_failure(text) or text[-ERROR_TAIL:]
        get_current_context()["ti"].xcom_push(
            key=BACKUP_ERROR_KEY,
            value={"shoot": f"{self.project}/{self.shoot_name}", "error": reason},
        )

    def validate_result(self, result: dict[str, Any]) -> dict[str, Any]:
        if not result.get("verified") or not result.get("snapshot"):
            raise AgentResultError(f"backup of {self.project}/{self.shoot_name} is not verified")
        backup = LastBackup.from_dict(result, path="backup result")
        self.garden.shoots.record_backup(self.project, self.shoot_name, backup)
        return result


class EtcdRestoreOperator(_EtcdOperator):
    """Restore a shoot's etcd from a verified snapshot (default: the newest good one).

    Stops the shoot's kube-apiserver and etcd, restores into a new data directory,
    swaps it in only when the restore succeeded, starts both again and waits until
    they are healthy. The restore pod holds the shoot's operation Lease for its whole
    run, so no reconcile, rollout or second restore runs beside it; a worker that dies
    meanwhile leaves neither a restore running unlocked nor a lock without its restore.

    :param project: project of the shoot (templated).
    :param name: shoot name (templated).
    :param snapshot: key of the snapshot to restore (templated); default: the newest good
        one of this shoot (its UID).
    :param from_uid: restore a snapshot written by another shoot UID, e.g. a deleted shoot
        of the same name, or ``unmarked`` for one written before snapshots carried a UID
        (templated). Without it, a snapshot of another UID is refused, naming that UID.
    """

    template_fields = (*_EtcdOperator.template_fields, "snapshot", "from_uid")
    verb = ("etcd", "restore")

    def __init__(
        self, *, snapshot: str | None = None, from_uid: str | None = None, **kwargs: Any
    ) -> None:
        kwargs["deferrable"] = False  # execute() reports a pod that died unreported
        super().__init__(**kwargs)
        self.snapshot = snapshot
        self.from_uid = from_uid

    def own_pod_arguments(self) -> dict[str, Any]:
        # etcd (the upstream image) runs as root: its data directory and the `data.old`
        # a previous restore left are root's, so the restore that swaps them must be too.
        return {"security_context": {"runAsUser": 0, "runAsGroup": 0}}

    def pod_extras(self, cp_ns: str) -> tuple[list[Manifest], list[Manifest], list[str]]:
        args = ["--namespace", cp_ns, "--data-mount", ETCD_DATA]
        args += ["--project", self.project, "--name", self.shoot_name]
        if self.snapshot:
            args += ["--snapshot", self.snapshot]
        if self.from_uid:
            args += ["--from-uid", self.from_uid]
        volume = {"name": "etcd-data", "persistentVolumeClaim": {"claimName": m.ETCD_VOLUME_CLAIM}}
        return [volume], [{"name": "etcd-data", "mountPath": ETCD_DATA}], args

    def execute(self, context: Context) -> Any:
        self.check_projects()  # the project named before anything is read or started
        # A refused user's failure must not be reported into the Shoot either.
        self.authorize(context)
        # The pod holds the shoot's operation Lease (it may wait for another operation)
        # and reports lastOperation itself; this task only reports a pod that could not.
        started = self.garden.shoots.clock()
        try:
            return super().execute(context)
        except Exception as err:
            if not self._pod_reported_failure(since=started):
                self._report(
                    OperationState.ERROR,
                    0,
                    f"restore failed: {type(err).__name__}: {str(err)[:300]}",
                )
            raise

    def _pod_reported_failure(self, *, since: dt.datetime) -> bool:
        shoot = self.garden.shoots.find(self.project, self.shoot_name)
        last = ShootStatus.from_shoot(shoot).last_operation if shoot else None
        return bool(
            last
            and last.type is OperationType.RESTORE
            and last.state.ended_badly
            and last.last_update_time is not None
            and last.last_update_time >= since.replace(microsecond=0)  # stored in seconds
        )

    def _report(self, state: OperationState, progress: int, description: str) -> None:
        self.garden.shoots.report(
            self.project,
            self.shoot_name,
            type_=OperationType.RESTORE,
            state=state,
            progress=progress,
            description=description,
        )

    def validate_result(self, result: dict[str, Any]) -> dict[str, Any]:
        if result.get("state") != "Restored":
            raise AgentResultError(
                f"restore of {self.project}/{self.shoot_name} did not finish: {result}"
            )
        return result


class EtcdRestoreDrillOperator(_EtcdOperator):
    """Prove that a shoot's newest good snapshot restores: a drill, not a restore.

    The pod mounts the shoot's snapshot store (as the backup does, never etcd's volume),
    verifies the newest good snapshot of this shoot (its UID), restores it into a scratch
    etcd inside the pod, checks that it serves the manifest's revision and holds a
    Kubernetes cluster, counts its objects per resource and stops that etcd. The pod
    records ``status.lastRestoreDrill`` (Succeeded or Failed, with every reason); the
    task fails when the drill failed. It takes no Lease: the shoot is only read.

    :param project: project of the shoot (templated).
    :param name: shoot name (templated).
    """

    verb = ("etcd", "drill")
    reaches_etcd = False  # it serves its own scratch etcd; the shoot's is never touched

    def __init__(self, **kwargs: Any) -> None:
        # on_failure must know when this try's pod started, to tell its record from an
        # older one: one process from the pod's start to its end.
        kwargs["deferrable"] = False
        super().__init__(**kwargs)
        self._started: dt.datetime | None = None

    def before_pod(self, context: Context) -> None:
        self._started = self.garden.shoots.clock()
        super().before_pod(context)

    def pod_extras(self, cp_ns: str) -> tuple[list[Manifest], list[Manifest], list[str]]:
        # Scratch space for the snapshot file and the restored data directory (the
        # backup's comes with the etcd client volumes, which the drill does not mount).
        work = {"name": "work", "emptyDir": {}}
        mount = {"name": "work", "mountPath": etcd_pod.WORK}
        args = ["--project", self.project, "--name", self.shoot_name, "--work-dir", etcd_pod.WORK]
        return [work], [mount], args

    def on_failure(self, error: Exception) -> None:
        """A pod that never finished its drill (not scheduled, killed, timed out) is a
        failed drill too: ``lastRestoreDrill`` must not keep saying an older one passed.
        A drill that failed on its own was recorded by the pod, with its reasons."""
        started = self._started
        if started is None or self._pod_recorded(since=started):
            return
        drill = LastRestoreDrill(
            time=started,
            state=DrillState.FAILED,
            description=f"the drill pod did not report: {type(error).__name__}: "
            f"{str(error)[-ERROR_TAIL:]}",
        )
        self.garden.shoots.record_restore_drill(self.project, self.shoot_name, drill)

    def _pod_recorded(self, *, since: dt.datetime) -> bool:
        shoot = self.garden.shoots.find(self.project, self.shoot_name)
        last = ShootStatus.from_shoot(shoot).last_restore_drill if shoot else None
        # Status times are stored in whole seconds.
        return bool(last and last.time and last.time >= since.replace(microsecond=0))

    def validate_result(self, result: dict[str, Any]) -> dict[str, Any]:
        if result.get("state") != DrillState.SUCCEEDED:
            raise AgentResultError(
                f"restore drill of {self.project}/{self.shoot_name} failed: "
                f"{result.get('description')}"
            )
        return result


def _model(obj: Manifest, kind: str) -> Any:
    """A kubernetes client model from its JSON shape (KubernetesPodOperator takes models)."""

    class _Response:
        data = json.dumps(obj)

    return ApiClient().deserialize(_Response, kind)
