"""KustomizeApplyOperator: a kustomize overlay applied to the seed or a shoot, from a pod.

The pod runs ``garden-agent kustomize apply|diff`` in the toolbox image; the
apply semantics (server-side apply, CRDs first, dry-run check, inventory prune,
immutable fields, rollout health) live in :mod:`..agent.kustomize_apply`.

Where the pod runs, and why:

- target ``seed``: in the provider namespace under the ``garden-kustomize``
  account. That account may only keep its inventory; what an overlay may
  change in the seed is what the seed's admins bind to it (a RoleBinding of the
  built-in ``admin`` role in the namespaces it manages, like Flux's
  ``serviceAccountName``), so the provider never needs cluster-admin.
- target ``<project>/<name>`` (a shoot): in the project namespace
  ``garden-<project>``, because a pod can mount only Secrets of its own
  namespace and the shoot's admin kubeconfig lives there. The pod gets no seed
  token at all (the namespace's ``default`` account, token not mounted): it
  talks only to the shoot, with the mounted kubeconfig. Reading the Secret
  through the seed API instead would need a seed role that can read every
  project's kubeconfig Secrets (RBAC cannot scope by name pattern).

A source directory travels as a deterministic tar.gz in a ConfigMap created
right before the pod and deleted when the task ends (any ending: success,
failure, kill); a git source is cloned inside the pod.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import TaskDeferred
from kubernetes.client import models as k8s

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.kustomize_inventory import PROTECTED_KINDS, inventory_name
from airflow_provider_garden.core.kustomize_pack import PackError, pack
from airflow_provider_garden.core.kustomize_result import Mode
from airflow_provider_garden.core.kustomize_source import (
    SourceLimits,
    SourcePolicy,
    check_git_source,
    check_overlay,
    check_relative,
    scan_tree,
)
from airflow_provider_garden.core.settings import GardenSettings
from airflow_provider_garden.core.spec_fields import FieldError, SpecError
from airflow_provider_garden.hooks.garden import GardenHook
from airflow_provider_garden.hooks.settings import garden_settings
from airflow_provider_garden.kube.client import Manifest
from airflow_provider_garden.operators.pod import (
    OPERATION_LABEL,
    PROVIDER_LABEL,
    PROVIDER_LABEL_VALUE,
    AgentPodOperator,
    AgentResultError,
    SecretMount,
    owned_by,
    with_flag,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

SEED = "seed"
SOURCE_KEY = "source.tar.gz"
SOURCE_MOUNT = "/var/run/garden/source"
TARGET_MOUNT = "/var/run/garden/target"
SOURCE_LABEL = "garden.airflow.io/kustomize-source-of"
# The pod's source ConfigMap: one per try (ti.id), found again by SOURCE_LABEL for cleanup.
SOURCE_CONFIGMAP = "garden-kustomize-src-{{ ti.id }}"
SHOOT_INVENTORY_NAMESPACE = "kube-system"
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_KIND = re.compile(r"[A-Z][A-Za-z0-9]{0,62}")


def source_owner(dag_id: str, task_id: str, run_id: str, map_index: int | None) -> str:
    """SOURCE_LABEL value of a task run's source ConfigMaps (every try's): a label-safe hash."""
    key = f"{dag_id}/{task_id}/{run_id}/{map_index}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _shoot_of(target: str) -> tuple[str, str] | None:
    if target == SEED:
        return None
    project, _, name = target.partition("/")
    return project, name


class KustomizeApplyOperator(AgentPodOperator):
    """Apply (or diff) a kustomize overlay to the seed or a shoot.

    Safe by default: no conflict forcing, no prune, nothing recreated, no remote
    bases or exec plugins; each must be asked for. The dry-run diff is logged in
    both modes. Returns (as XCom) ``changed``, counts and names of applied,
    unchanged and pruned objects and the diff as field paths (never values).

    :param inventory_id: names what this task manages in the target (its
        inventory ``garden-inventory-<id>``); tasks with the same id on the same
        target share, and prune, one set (templated).
    :param source_path: kustomize root directory shipped with the DAG; relative
        paths start at the DAG file's folder (templated).
    :param git_url: git repository instead of ``source_path`` (templated).
    :param git_ref: branch, tag or full commit id of ``git_url`` (templated).
    :param git_path: kustomize root inside the repository (templated).
    :param overlay: overlay directory inside the root (templated).
    :param target: ``seed`` or ``<project>/<name>`` of a shoot.
    :param mode: ``apply`` or ``diff`` (templated; a :class:`Mode` or its value).
    :param default_namespace: for namespaced objects that name none (templated).
    :param prune: delete objects of the previous inventory that are no longer rendered.
    :param prune_allow_kinds: protected kinds prune may delete (Namespace,
        CustomResourceDefinition, PersistentVolume).
    :param force_conflicts: take over fields other field managers own.
    :param recreate_on_immutable: kinds to delete and recreate when an
        immutable field changes (e.g. ``["Job"]``).
    :param allow_remote_bases: let kustomizations name remote bases.
    :param allow_exec_plugins: let kustomize run exec plugins and KRM functions.
    :param wait_timeout: seconds to wait for rollout health (0: do not wait; default:
        ``[garden] kustomize_wait_timeout_seconds``).
    """

    template_fields: Sequence[str] = (
        *AgentPodOperator.template_fields,
        "inventory_id",
        "source_path",
        "git_url",
        "git_ref",
        "git_path",
        "overlay",
        "mode",
        "default_namespace",
    )
    verb = ("kustomize",)
    service_account = "garden-kustomize"

    def __init__(
        self,
        *,
        inventory_id: str,
        source_path: str | None = None,
        git_url: str | None = None,
        git_ref: str | None = None,
        git_path: str = ".",
        overlay: str = ".",
        target: str = SEED,
        mode: Mode | str = Mode.APPLY,
        default_namespace: str = "default",
        prune: bool = False,
        prune_allow_kinds: Sequence[str] = (),
        force_conflicts: bool = False,
        recreate_on_immutable: Sequence[str] = (),
        allow_remote_bases: bool = False,
        allow_exec_plugins: bool = False,
        wait_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        settings: GardenSettings = kwargs.get("settings") or garden_settings()
        kwargs["settings"] = settings
        if wait_timeout is None:
            wait_timeout = settings.kustomize_wait_timeout.total_seconds()
        self.inventory_id = inventory_id
        self.source_path = source_path
        self.git_url = git_url
        self.git_ref = git_ref
        self.git_path = git_path
        self.overlay = overlay
        self.target = target
        self.mode = mode.value if isinstance(mode, Mode) else mode
        self.default_namespace = default_namespace
        self.prune = prune
        self.prune_allow_kinds = list(prune_allow_kinds)
        self.force_conflicts = force_conflicts
        self.recreate_on_immutable = list(recreate_on_immutable)
        self.allow_remote_bases = allow_remote_bases
        self.allow_exec_plugins = allow_exec_plugins
        self.wait_timeout = wait_timeout
        self._packed: bytes | None = None
        self._owner: str | None = None  # SOURCE_LABEL value of this task run

        args = [
            self.mode,
            *("--inventory-id", inventory_id),
            *("--overlay", overlay),
            *("--target", target),
            *("--default-namespace", default_namespace),
            *("--wait-timeout", str(wait_timeout)),
        ]
        args += ["--prune"] if prune else []
        args += [a for kind in prune_allow_kinds for a in ("--prune-allow-kind", kind)]
        args += ["--force-conflicts"] if force_conflicts else []
        args += [a for kind in recreate_on_immutable for a in ("--recreate-on-immutable", kind)]
        args += ["--allow-remote-bases"] if allow_remote_bases else []
        args += ["--allow-exec-plugins"] if allow_exec_plugins else []
        if git_url is not None:
            args += ["--git-url", git_url, "--git-ref", git_ref or "", "--git-path", git_path]
        else:
            args += ["--source-archive", f"{SOURCE_MOUNT}/{SOURCE_KEY}"]

        mounts: list[SecretMount] = []
        shoot = _shoot_of(target)
        if shoot is None:
            pod_namespace = kwargs.get("namespace") or settings.namespace
            args += ["--inventory-namespace", pod_namespace]
        else:
            project, name = shoot
            pod_namespace = naming.project_namespace(project)
            if kwargs.setdefault("namespace", pod_namespace) != pod_namespace:
                raise ValueError(
                    f"a pod for shoot {target} must run in {pod_namespace}, where its "
                    "kubeconfig Secret is"
                )
            kwargs.setdefault("automount_service_account_token", False)
            mounts.append(
                SecretMount(secret_name=naming.kubeconfig_secret(name), mount_path=TARGET_MOUNT)
            )
            args += ["--kubeconfig-file", f"{TARGET_MOUNT}/kubeconfig"]
            args += ["--inventory-namespace", SHOOT_INVENTORY_NAMESPACE]
        super().__init__(agent_args=args, secret_mounts=mounts, **kwargs)
        if git_url is None:
            # AgentPodOperator mounts Secrets only; the source is a ConfigMap.
            self.volumes.append(
                k8s.V1Volume(
                    name="kustomize-source",
                    config_map=k8s.V1ConfigMapVolumeSource(name=SOURCE_CONFIGMAP),
                )
            )
            self.volume_mounts.append(
                k8s.V1VolumeMount(name="kustomize-source", mount_path=SOURCE_MOUNT, read_only=True)
            )

    @cached_property
    def garden(self) -> GardenHook:
        return GardenHook(self.kubernetes_conn_id, settings=self.settings)

    def own_pod_arguments(self) -> dict[str, Any]:
        # A shoot target's pod runs in the project namespace with no seed account at
        # all: everything it does is in the shoot, through the mounted kubeconfig.
        return {} if _shoot_of(self.target) is None else {"service_account_name": "default"}

    # --- before anything is created -------------------------------------------
    def projects(self) -> Sequence[tuple[str, object]]:
        shoot = _shoot_of(self.target)
        return [] if shoot is None else [("target", shoot[0])]

    def validate_inputs(self) -> None:
        errors = self._check_fields()
        if not errors and self.source_path is not None:
            errors = self._check_and_pack_source()
        if errors:
            raise SpecError(f"KustomizeApplyOperator {self.task_id}", errors)
        shoot = _shoot_of(self.target)
        if shoot is not None and self.garden.shoots.find(*shoot) is None:
            raise SpecError(
                f"KustomizeApplyOperator {self.task_id}",
                [FieldError("target", f"shoot {self.target} does not exist")],
            )

    def _check_fields(self) -> list[FieldError]:
        errors: list[FieldError] = []
        try:
            inventory_name(str(self.inventory_id))
        except ValueError as err:
            errors.append(FieldError("inventory_id", str(err)))
        if (self.source_path is None) == (self.git_url is None):
            errors.append(FieldError("source_path", "set exactly one of source_path and git_url"))
        if self.git_url is not None:
            errors += check_git_source(self.git_url, self.git_ref or "", self.git_path)
        errors += check_relative(self.overlay, "overlay")
        if self.mode not in {m.value for m in Mode}:
            errors.append(FieldError("mode", f"{self.mode!r} must be one of apply, diff"))
        shoot = _shoot_of(self.target)
        if shoot is not None and not all(_DNS_LABEL.fullmatch(part) for part in shoot):
            errors.append(FieldError("target", f"{self.target!r} must be seed or project/name"))
        if not _DNS_LABEL.fullmatch(self.default_namespace):
            errors.append(FieldError("default_namespace", "must be a DNS-1123 label"))
        for kind in sorted(set(self.prune_allow_kinds) - PROTECTED_KINDS):
            errors.append(
                FieldError(
                    "prune_allow_kinds",
                    f"{kind!r} is not protected (only {', '.join(sorted(PROTECTED_KINDS))})",
                )
            )
        for kind in self.recreate_on_immutable:
            if not _KIND.fullmatch(kind):
                errors.append(FieldError("recreate_on_immutable", f"{kind!r} is not a kind"))
        if not 0 <= self.wait_timeout <= 24 * 3600:
            errors.append(FieldError("wait_timeout", "must be between 0 and 86400 seconds"))
        return errors

    def _check_and_pack_source(self) -> list[FieldError]:
        root = Path(str(self.source_path))
        if not root.is_absolute() and self.has_dag():
            root = Path(self.dag.fileloc).parent / root
        policy = SourcePolicy(
            allow_remote_bases=self.allow_remote_bases, allow_exec_plugins=self.allow_exec_plugins
        )
        try:
            tree = scan_tree(root, SourceLimits())
            check_overlay(tree.root, self.overlay, policy)
            self._packed = pack(tree)
        except SpecError as err:
            return list(err.errors)
        except PackError as err:
            return [FieldError("source_path", str(err))]
        self.log.info(
            "source %s: %d files, %d bytes, packed to %d bytes",
            tree.root,
            len(tree.files),
            tree.total_bytes,
            len(self._packed),
        )
        return []

    # --- the source ConfigMap ------------------------------------------------------
    def _source_owner(self, context: Context) -> str:
        ti = context["ti"]
        return source_owner(ti.dag_id, ti.task_id, ti.run_id, ti.map_index)

    def before_pod(self, context: Context) -> None:
        if _shoot_of(self.target) is None:
            # The seed's inventory lives in the pod's namespace: the connection's, maybe.
            self.arguments = with_flag(
                self.arguments, "--inventory-namespace", self.namespace or self.settings.namespace
            )
        if self._packed is None:
            return
        self.garden.kube.apply(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": f"garden-kustomize-src-{context['ti'].id}",
                    "namespace": self.namespace,
                    "labels": {
                        PROVIDER_LABEL: PROVIDER_LABEL_VALUE,
                        OPERATION_LABEL: "-".join(self.verb),
                        SOURCE_LABEL: str(self._owner),
                    },
                },
                "immutable": True,
                "binaryData": {SOURCE_KEY: base64.b64encode(self._packed).decode()},
            }
        )

    def on_pod_created(self, pod: Manifest) -> None:
        # The source goes with the pod on endings that run none of this code (a deferred
        # task finished from the UI cancels its trigger; a SIGKILLed worker).
        if self._owner is None:
            return
        for cm in self.garden.kube.list(
            "v1", "ConfigMap", str(self.namespace), label_selector=f"{SOURCE_LABEL}={self._owner}"
        ):
            self.garden.kube.merge_patch(
                "v1",
                "ConfigMap",
                cm["metadata"]["name"],
                {"metadata": {"ownerReferences": [owned_by(pod)]}},
                str(self.namespace),
            )

    def _delete_sources(self) -> None:
        """Delete this task run's source ConfigMaps, earlier tries' included."""
        owner = self._owner
        if owner is None:
            return
        try:
            for cm in self.garden.kube.list(
                "v1", "ConfigMap", str(self.namespace), label_selector=f"{SOURCE_LABEL}={owner}"
            ):
                self.garden.kube.delete("v1", "ConfigMap", cm["metadata"]["name"], self.namespace)
        except Exception:
            self.log.warning("could not delete the source ConfigMap", exc_info=True)

    # --- every ending deletes the source ---------------------------------------------
    def execute(self, context: Context) -> Any:
        self._owner = self._source_owner(context) if self.git_url is None else None
        deferred = False
        try:
            return super().execute(context)
        except TaskDeferred:
            deferred = True  # the pod still needs its source; trigger_reentry cleans up
            raise
        finally:
            if not deferred:
                self._delete_sources()

    def trigger_reentry(self, context: Context, event: dict[str, Any]) -> Any:
        self._owner = self._source_owner(context) if self.git_url is None else None
        try:
            return super().trigger_reentry(context, event)
        finally:
            self._delete_sources()

    def on_kill(self) -> None:
        super().on_kill()
        self._delete_sources()

    # --- the result --------------------------------------------------------------------
    def validate_result(self, result: dict[str, Any]) -> dict[str, Any]:
        counts = result.get("counts")
        if (
            result.get("mode") != self.mode
            or not isinstance(result.get("changed"), bool)
            or not isinstance(counts, dict)
            or result.get("target") != self.target
        ):
            raise AgentResultError(f"kustomize {self.mode} of {self.target} returned {result}")
        self.log.info("%s %s: changed=%s %s", self.mode, self.target, result["changed"], counts)
        for line in result.get("diff") or []:
            self.log.info("diff: %s", line)
        return result
