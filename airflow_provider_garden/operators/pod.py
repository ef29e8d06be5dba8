"""The one pod-launch path every garden operator shares.

An operator of this provider is a KubernetesPodOperator that runs one
`garden-agent` verb in the toolbox image. This module composes that pod spec in
one place; operators only say which verb, which arguments, which Secrets to
mount and how to check the result. Precedence, lowest first: the `[garden]`
config section, what the task's ``garden`` connection sets for its seed (namespace,
toolbox image: read when the task runs, never while the DAG is parsed; see
`use_seed_settings`), this class's defaults, the operator's own values
(`own_pod_arguments`), then what the DAG author passed explicitly. Who the pod
runs as and with what (image, ServiceAccount, security contexts, host*, pod
templates: `core/pod_overrides.py`) is the operator's: a DAG author's value for
one of these is refused when the operator is built, naming the argument and
`[garden] allowed_pod_overrides`, unless that option lists it.

Before anything is read or created for a task, its projects (`projects()`) are
checked against the name rules, then against the seed's Project resources: the
run's triggering user (a scheduled run: the Project's owner) must hold the
operator's `required_role` there (`authorize`, `core/project.py`).

What this path guarantees, in sync and deferrable mode alike:

- One active pod per task instance. Pods carry the task instance in their labels
  (and, exactly, in annotations: labels are cut to 63 characters). A try deletes
  every other pod of its task instance and waits until they are gone; it
  reattaches only to a pod that still runs and that no earlier try processed.
- Startup is watched by the worker in both modes (the trigger then watches a pod
  that runs): a pod that can never start (image errors, a missing Secret volume,
  unschedulable past the timeout) fails the task at once, with the reason and the
  pod's events in the exception. A pod the seed has no room for (the scheduler's
  "Insufficient cpu", "Too many pods") for `[garden] unschedulable_grace_seconds`
  fails it with ERR_INFRA_QUOTA_EXCEEDED (`core.error_codes`: the exception's cause
  is that KnownCause), naming the pod and the scheduler's reason. A pod that failed
  to start before it was scheduled is deleted then, whatever `on_finish_action` says:
  left pending, it would run its verb whenever room appears, for a failed task.
- Every ending reads the pod's final state first, then deletes the pod (or keeps
  it where `on_finish_action` asks): success, failure, execution_timeout, SIGTERM
  (task marked failed or success in the UI, worker stopped), startup failure. A
  deferred task's pod is deleted by the trigger's `on_kill` when the task is
  finished from the UI; what no code of ours sees end (SIGKILL, a lost node) is
  left to the orphan reaper (`dags/garden_reaper.py`).
- The task state tells the truth: SUCCESS only when the container exited 0 and
  its result (the termination message) validated; a task stopped by SIGTERM while
  its pod ran never succeeds.

Why these defaults:
- `termination_message_policy=FallbackToLogsOnError`: a verb that crashes before
  writing its result still explains itself in the pod status.
- results travel in the termination message, not through the XCom sidecar: no
  second image to pull and no sidecar that can hang the pod.
- `log_pod_spec_on_failure=False`: a dumped pod is noise and a leak risk.
- Secrets reach the pod only as read-only Secret volumes, never as env values.

Kubernetes calls made here go through the provider's `KubeClient` (bounded,
jittered retries of 429/5xx and dropped connections; one credential reload on
401). The calls left to KubernetesPodOperator (log streaming, completion polls)
use its own retry of 409/429/5xx with exponential backoff.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.cncf.kubernetes.callbacks import KubernetesPodOperatorCallback
from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.utils.pod_manager import OnFinishAction, OnKillAction
from airflow.sdk.exceptions import AirflowException, TaskDeferred
from kubernetes.client import ApiClient
from kubernetes.client import models as k8s

from airflow_provider_garden.core import pod_status
from airflow_provider_garden.core.error_codes import KnownCause, known_line
from airflow_provider_garden.core.name_rules import ensure_projects
from airflow_provider_garden.core.pod_attach import TERMINAL_PHASES, plan_attach
from airflow_provider_garden.core.pod_overrides import refused_overrides
from airflow_provider_garden.core.pod_startup import Outcome, startup_verdict
from airflow_provider_garden.core.project import Project, Role
from airflow_provider_garden.core.settings import GardenSettings
from airflow_provider_garden.core.toolbox import TOOLBOX_UID
from airflow_provider_garden.hooks.garden import GardenHook
from airflow_provider_garden.hooks.project_access import authorize
from airflow_provider_garden.hooks.settings import garden_settings
from airflow_provider_garden.kube.client import Backoff, KubeClient, Manifest
from airflow_provider_garden.kube.errors import Conflict, NotFound
from airflow_provider_garden.kube.resources import resource_for
from airflow_provider_garden.kube.scheduling import pod_events

if TYPE_CHECKING:
    from airflow.sdk import Context

OPERATION_LABEL = "garden.airflow.io/operation"
PROVIDER_LABEL = "garden.airflow.io/managed-by"
PROVIDER_LABEL_VALUE = "airflow-provider-garden"
#: the Airflow installation that launched the pod (``[garden] instance``): its reaper's own
INSTANCE_LABEL = "garden.airflow.io/instance"
#: set on a pod kept after its task ended because `on_finish_action` asked so
KEPT_LABEL = "garden.airflow.io/kept"
DAG_ANNOTATION = "garden.airflow.io/dag-id"
RUN_ANNOTATION = "garden.airflow.io/run-id"
TASK_ANNOTATION = "garden.airflow.io/task-id"
MAP_INDEX_ANNOTATION = "garden.airflow.io/map-index"
TRY_ANNOTATION = "garden.airflow.io/try-number"
# A deleted pod takes up to its grace period to stop, plus the kubelet's round trip.
DEFAULT_GRACE_SECONDS = 30
GONE_MARGIN_SECONDS = 15
_POD = resource_for("v1", "Pod")
GARDEN_NAMESPACE_FLAG = "--garden-namespace"
#: pod arguments that default to a setting a garden connection may change: (argument, field)
_SEED_DEFAULTS = (("namespace", "namespace"), ("image", "toolbox_image"))


@dataclass(frozen=True)
class SecretMount:
    """A Secret mounted read-only into the operator pod."""

    secret_name: str
    mount_path: str

    @property
    def volume_name(self) -> str:
        # Volume names are DNS labels: Secret names may hold dots (`dev.kubeconfig`).
        return f"secret-{self.secret_name}".replace(".", "-")[:63].rstrip("-")


class AgentResultError(AirflowException):
    """The pod ended without a result this operator can trust."""


class AgentPodError(AirflowException):
    """The pod did not succeed, or pods of an earlier try would not go away."""


class AgentStartupError(AirflowException):
    """The pod cannot start; the message names the reason and carries the pod's events.

    When the cause is established (the seed has no room) the exception's ``__cause__``
    is its `KnownCause` and the message starts with the error code.
    """


class AgentInterruptedError(AirflowException):
    """The task was interrupted (execution_timeout) while its pod ran."""


class AgentKilledError(AirflowException):
    """The task was stopped (SIGTERM) while its pod ran: the pod is deleted, no result."""


class PodOverrideError(ValueError):
    """A DAG passed a pod argument the operator chooses itself (not in the allow-list)."""


def _agent_command(settings: GardenSettings, verb: Sequence[str], args: Sequence[str]) -> list[str]:
    # The agent learns the provider's namespace from here: it has no default of its own.
    return [GARDEN_NAMESPACE_FLAG, settings.namespace, *verb, *args]


def with_flag(arguments: Sequence[str], flag: str, value: str) -> list[str]:
    """`arguments` with the value after each `flag` replaced by `value`."""
    out = list(arguments)
    for i, arg in enumerate(out[:-1]):
        if arg == flag:
            out[i + 1] = value
    return out


def annotate_task_instance(pod: k8s.V1Pod, context: Context) -> None:
    """Name the task instance exactly in the pod's annotations (labels are cut to 63)."""
    ti = context["ti"]
    pod.metadata.annotations = {
        **(pod.metadata.annotations or {}),
        DAG_ANNOTATION: ti.dag_id,
        RUN_ANNOTATION: ti.run_id,
        TASK_ANNOTATION: ti.task_id,
        MAP_INDEX_ANNOTATION: str(ti.map_index if ti.map_index is not None else -1),
        TRY_ANNOTATION: str(ti.try_number),
    }


class TaskInstanceAnnotations(KubernetesPodOperatorCallback):
    """Upstream calls this with the pod manifest before the pod is created, in both modes."""

    @staticmethod
    def on_pod_manifest_created(  # type: ignore[override]
        *, pod_request: k8s.V1Pod, context: Context, **kwargs: Any
    ) -> None:
        annotate_task_instance(pod_request, context)


def owned_by(pod: Manifest) -> Manifest:
    """An ownerReference to `pod` (same namespace): its bearer is deleted with the pod."""
    meta = pod["metadata"]
    return {"apiVersion": "v1", "kind": "Pod", "name": meta["name"], "uid": meta["uid"]}


class AgentPodOperator(KubernetesPodOperator):
    """Run one ``garden-agent`` verb in the toolbox image and return its JSON result.

    :param agent_args: extra arguments after the verb (templated through ``arguments``).
    :param settings: the provider's settings (default: ``[garden]`` as Airflow reads it).
    :param secret_mounts: Secrets mounted read-only into the pod.
    """

    #: the garden-agent verb, e.g. ("shoot", "reconcile"); set by each operator
    verb: ClassVar[tuple[str, ...]] = ()
    #: ServiceAccount of this operator kind (least privilege, one per kind)
    service_account: ClassVar[str | None] = None
    #: the role the run's user needs in each project of `projects()` (viewer: read only)
    required_role: ClassVar[Role] = Role.ADMIN

    def __init__(
        self,
        *,
        agent_args: Sequence[str] = (),
        secret_mounts: Sequence[SecretMount] = (),
        labels: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        if not self.verb:
            raise TypeError(f"{type(self).__name__} must set the class attribute `verb`")
        operation = "-".join(self.verb)
        mounts = list(secret_mounts)
        settings: GardenSettings = kwargs.pop("settings", None) or garden_settings()
        refused = refused_overrides(kwargs, settings.allowed_pod_overrides)
        if refused:
            raise PodOverrideError(
                f"{type(self).__name__} {kwargs.get('task_id')!r}: " + "; ".join(refused)
            )
        kwargs = {**self.own_pod_arguments(), **kwargs}
        #: the pod arguments taken from the settings: a garden connection may change them
        self.seed_defaults = tuple((a, f) for a, f in _SEED_DEFAULTS if kwargs.get(a) is None)
        kwargs.setdefault("kubernetes_conn_id", settings.kubernetes_conn_id)
        kwargs.setdefault("namespace", settings.namespace)
        kwargs.setdefault("image", settings.toolbox_image)
        kwargs.setdefault("startup_timeout_seconds", int(settings.startup_timeout.total_seconds()))
        kwargs.setdefault("startup_check_interval_seconds", 1)
        kwargs.setdefault("name", f"garden-{operation}")
        kwargs.setdefault("image_pull_policy", "IfNotPresent")
        # fsGroup: the kubelet gives that group read access to the 0400 Secret volumes,
        # which the toolbox's unprivileged user could not read otherwise.
        kwargs.setdefault(
            "security_context",
            k8s.V1PodSecurityContext(
                run_as_non_root=True,
                run_as_user=TOOLBOX_UID,
                run_as_group=TOOLBOX_UID,
                fs_group=TOOLBOX_UID,
            ),
        )
        kwargs.setdefault("durable", True)
        kwargs.setdefault("on_finish_action", OnFinishAction.DELETE_POD.value)
        kwargs.setdefault("on_kill_action", OnKillAction.DELETE_POD.value)
        if self.service_account is not None:
            kwargs.setdefault("service_account_name", self.service_account)
        theirs = kwargs.pop("callbacks", None) or []
        theirs = theirs if isinstance(theirs, list) else [theirs]
        super().__init__(
            callbacks=[TaskInstanceAnnotations, *theirs],
            cmds=["garden-agent"],
            arguments=_agent_command(settings, self.verb, agent_args),
            labels={
                OPERATION_LABEL: operation,
                **(labels or {}),
                # After the DAG's labels: whose pod this is is not the DAG's to say.
                PROVIDER_LABEL: PROVIDER_LABEL_VALUE,
                INSTANCE_LABEL: settings.instance,
            },
            volumes=[
                k8s.V1Volume(
                    name=m.volume_name,
                    secret=k8s.V1SecretVolumeSource(secret_name=m.secret_name, default_mode=0o400),
                )
                for m in mounts
            ],
            volume_mounts=[
                k8s.V1VolumeMount(name=m.volume_name, mount_path=m.mount_path, read_only=True)
                for m in mounts
            ],
            termination_message_policy="FallbackToLogsOnError",
            do_xcom_push=False,
            log_pod_spec_on_failure=False,
            **kwargs,
        )
        self.settings = settings
        self._seed_settings_used = False
        #: the projects of `projects()` as read from the seed once the run's user may act in them
        self.allowed_projects: dict[str, Project] = {}
        self._final_pod: Manifest | None = None
        self._final_events: list[Manifest] = []
        self._failure_recorded = False
        #: set by on_kill (SIGTERM or execution_timeout while the pod ran): no result is trusted
        self._stopped = False

    # --- hooks for operators ------------------------------------------------

    def own_pod_arguments(self) -> dict[str, Any]:
        """Pod arguments this operator sets beyond the defaults (e.g. a root security context).

        Called while the operator is built, before the allow-list of DAG-passed
        arguments applies to what the DAG author passed; these are not checked by it.
        """
        return {}

    def use_seed_settings(self) -> None:
        """Take the settings of this task's seed: what its ``garden`` connection sets
        (namespace, toolbox image) replaces ``[garden]``'s, in `settings`, in the pod
        arguments that came from them and in the agent's ``--garden-namespace``.

        The one place a task's settings follow its connection, first thing in `execute`
        and `trigger_reentry` (connections are read when tasks run, not when DAGs are
        parsed); operators that compose their arguments later use `settings` as usual.
        A ``kubernetes`` connection changes nothing.
        """
        if self._seed_settings_used:
            return
        seed = GardenHook(self.kubernetes_conn_id, settings=self.settings).settings
        for argument, field in self.seed_defaults:
            setattr(self, argument, getattr(seed, field))
        self.arguments = with_flag(self.arguments or [], GARDEN_NAMESPACE_FLAG, seed.namespace)
        self.settings = seed
        self._seed_settings_used = True

    def agent_command(self, *args: str) -> list[str]:
        """The pod's arguments: what the agent needs from the settings, the verb, `args`."""
        return _agent_command(self.settings, self.verb, args)

    def projects(self) -> Sequence[tuple[str, object]]:
        """The projects this task acts on, as ``(argument, rendered value)``.

        Checked against the project rules (:mod:`..core.name_rules`) before
        ``validate_inputs`` and before anything is read or created.
        """
        return ()

    def check_projects(self) -> None:
        """Raise SpecError naming the argument and rule of each project that breaks one."""
        ensure_projects(self.projects(), provider_namespace=self.settings.namespace)

    def authorize(self, context: Context) -> None:
        """Refuse unless each project of `projects()` exists and the run's user holds
        `required_role` in it (a scheduled run acts as the project's owner)."""
        projects = self.projects()
        if projects and not self.allowed_projects:  # once per try, however often asked
            self.allowed_projects = authorize(
                self._kube,
                self.settings,
                context,
                projects,
                needed=self.required_role,
                operation=f"{type(self).__name__} {self.task_id!r}",
            )

    def validate_inputs(self) -> None:
        """Check rendered inputs before anything is created; raise naming field and rule."""

    def before_pod(self, context: Context) -> None:
        """Write what the pod needs to find (e.g. the Shoot resource) before it starts."""

    def validate_result(self, result: dict[str, Any]) -> dict[str, Any]:
        """Check the verb's result before the task may succeed; return what goes to XCom."""
        return result

    def on_failure(self, error: Exception) -> None:
        """Record a failure the pod could not record itself (it died or never ran)."""

    def on_pod_created(self, pod: Manifest) -> None:
        """The try's pod exists (created, or reattached to): tie what was made for it to it.

        An object made only for the pod (e.g. a ConfigMap it mounts) should carry
        :func:`owned_by` this pod: Kubernetes then deletes it with the pod on every
        ending, including those that run no code of this operator (a trigger's
        ``on_kill`` after the task was finished from the UI, a SIGKILLed worker).
        """

    # --- the shared path ----------------------------------------------------
    # Overrides of KubernetesPodOperator, each where no public callback can do the work
    # (tests/unit/operators/test_pod_upstream.py records their upstream signatures):
    # override: no callback runs before the manifest, on a failed try, or can return the result.
    def execute(self, context: Context) -> Any:
        self.use_seed_settings()
        self.check_projects()
        self.authorize(context)
        self.validate_inputs()
        self.before_pod(context)
        # TaskDeferred is a BaseException: deferring is not a failure.
        with self._failures_reported():
            try:
                super().execute(context)
            except TaskDeferred:
                raise
            except BaseException as err:
                if self.deferrable:
                    # Upstream cleans up nothing when its deferrable part fails (no pod
                    # started, a timeout or SIGTERM before the deferral): the pod must not
                    # outlive the try.
                    self._clean_after_error()
                elif self._stopped and isinstance(err, Exception):
                    raise self._killed_error() from err  # a kill must win
                raise
            if self.deferrable:
                # Not deferred: the pod had ended, trigger_reentry ran here and pushed it.
                return None
            # The result comes from the termination message read in cleanup.
            return self._finish(context)

    # override (upstream's subclass hook): no callback may watch startup and stop the deferral.
    def invoke_defer_method(
        self, last_log_time: Any = None, context: Context | None = None
    ) -> None:
        # The worker watches startup in both modes: one place that fails fast with the
        # reason and the events. A pod that already runs passes at once (re-deferrals).
        # Then the pod as it is now: one that has already ended is finished here, without
        # a round trip through the triggerer (which upstream decides from this object).
        if self.pod is not None:
            self.await_pod_start(self.pod)
            self.pod = self.client.read_namespaced_pod(
                self.pod.metadata.name, self.pod.metadata.namespace
            )
        super().invoke_defer_method(last_log_time=last_log_time, context=context)

    # override: outcome from the final pod, not the event; on_operator_resuming is never called.
    def trigger_reentry(self, context: Context, event: dict[str, Any]) -> Any:
        self.use_seed_settings()  # a new instance: the settings as the deferring one had them
        with self._failures_reported():
            try:
                super().trigger_reentry(context, event)
            except TaskDeferred:
                raise
            except Exception as err:
                final = self._final_pod
                if self._stopped:
                    raise self._killed_error() from err
                if (
                    final is not None
                    and pod_status.phase(final) in TERMINAL_PHASES
                    and not pod_status.succeeded(final, self.base_container_name)
                ):
                    raise AgentPodError(self._failure_text(final)) from err
                self._clean_after_error()
                raise
            return self._finish(context)

    # override (private): a running pod's log is followed to its end; logging_interval wakes workers.
    def _write_logs(  # type: ignore[override]
        self, pod: k8s.V1Pod, follow: bool = False, since_time: Any = None
    ) -> None:
        # On an execution_timeout event the pod still runs: a following read would block
        # until it ends. Read what is there, then go on to delete it.
        super()._write_logs(pod, follow=False, since_time=since_time)

    # --- one pod per task instance ---------------------------------------------
    # override: one pod per task instance; upstream reattaches to or creates one before callbacks.
    def get_or_create_pod(self, pod_request_obj: k8s.V1Pod, context: Context) -> k8s.V1Pod:
        namespace = pod_request_obj.metadata.namespace
        selector = self._build_find_pod_label_selector(context, exclude_checked=False)
        found = self._kube.list("v1", "Pod", namespace, label_selector=selector)
        plan = plan_attach(
            [
                pod_status.attach_facts(
                    p, checked_label=self.POD_CHECKED_KEY, kept_label=KEPT_LABEL
                )
                for p in found
            ],
            reattach=bool(self.reattach_on_restart),
        )
        for name, why in plan.remove:
            self.log.info("deleting pod %s/%s of this task instance: %s", namespace, name, why)
            self._delete(name, namespace)
        self._wait_gone(namespace, plan.wait_for, found)
        if plan.reuse is not None:
            self.log.info(
                "reattaching to pod %s/%s: it still runs for an earlier try", namespace, plan.reuse
            )
            pod: k8s.V1Pod = self.client.read_namespaced_pod(plan.reuse, namespace)
            self.on_pod_created(self.client.api_client.sanitize_for_serialization(pod))
            return pod
        created = self._create(pod_request_obj)
        if self._stopped:
            self._delete(pod_request_obj.metadata.name, namespace)
            raise self._killed_error()
        self.on_pod_created(created)
        return pod_request_obj

    def _create(self, pod: k8s.V1Pod) -> Manifest:
        manifest: Manifest = self.client.api_client.sanitize_for_serialization(pod)
        try:
            return self._kube.create(manifest)
        except Conflict:
            # A retried create whose first answer was lost: the pod is ours if it carries
            # this try's identity (the name has a random suffix, so nothing else has it).
            meta = manifest["metadata"]
            existing = self._kube.find("v1", "Pod", meta["name"], meta["namespace"])
            if existing is None or existing["metadata"].get("annotations") != meta.get(
                "annotations"
            ):
                raise
            self.log.info("pod %s was created by an attempt whose answer was lost", meta["name"])
            return existing

    def _wait_gone(self, namespace: str, names: Sequence[str], found: Sequence[Manifest]) -> None:
        if not names:
            return
        grace = max(
            (p.get("spec") or {}).get("terminationGracePeriodSeconds") or DEFAULT_GRACE_SECONDS
            for p in found
            if p["metadata"]["name"] in names
        )
        deadline = time.monotonic() + grace + GONE_MARGIN_SECONDS
        pending = set(names)
        while True:
            pending = {n for n in pending if self._kube.find("v1", "Pod", n, namespace)}
            if not pending:
                return
            if self._stopped:
                raise self._killed_error()
            if time.monotonic() > deadline:
                raise AgentPodError(
                    f"pods {', '.join(sorted(pending))} of this task instance are still "
                    f"stopping after {grace + GONE_MARGIN_SECONDS}s: not starting another "
                    "pod beside them"
                )
            time.sleep(0.5)

    # --- startup ----------------------------------------------------------------
    # override: fail fast (mount errors too) with reason and events; on_pod_starting comes after.
    def await_pod_start(self, pod: k8s.V1Pod) -> None:
        name, namespace = pod.metadata.name, pod.metadata.namespace
        began = time.monotonic()
        scheduled_at: float | None = None
        unschedulable_since: float | None = None
        seen: set[str] = set()
        while True:
            if self._stopped:
                raise self._killed_error()
            current = self._kube.find("v1", "Pod", name, namespace)
            if current is None:
                raise AgentStartupError(f"pod {namespace}/{name} vanished before it started")
            starting = pod_status.phase(current) in ("Pending", "Unknown")
            events = self._events(name, namespace) if starting else []
            for event in events:
                uid = str((event.get("metadata") or {}).get("uid"))
                if uid not in seen:
                    seen.add(uid)
                    self.log.info("pod event: %s", pod_status.event_lines([event])[0])
            facts = pod_status.startup_facts(current, events)
            now = time.monotonic()
            if facts.scheduled and scheduled_at is None:
                scheduled_at = now
            if not facts.unschedulable:
                unschedulable_since = None
            elif unschedulable_since is None:
                unschedulable_since = now
            verdict = startup_verdict(
                facts,
                waited=now - began,
                scheduled_for=None if scheduled_at is None else now - scheduled_at,
                schedule_timeout=self.schedule_timeout_seconds,
                startup_timeout=self.startup_timeout_seconds,
                unschedulable_for=None
                if unschedulable_since is None
                else now - unschedulable_since,
                capacity_grace=self.settings.unschedulable_grace.total_seconds(),
            )
            if verdict.outcome is Outcome.STARTED:
                return
            if verdict.outcome is Outcome.FAILED:
                if not facts.scheduled:
                    self._delete_unscheduled(name, namespace)
                if verdict.cause is not None:
                    known = KnownCause(verdict.cause, verdict.reason)
                    text = pod_status.with_events(known_line(known), events)
                    raise AgentStartupError(text) from known
                raise AgentStartupError(
                    pod_status.with_events(
                        f"pod {namespace}/{name} cannot start: {verdict.reason}", events
                    )
                )
            time.sleep(self.startup_check_interval_seconds)

    # --- every ending -------------------------------------------------------------
    # override: on_pod_cleanup runs after the delete; the final state must be read before.
    def cleanup(
        self,
        pod: k8s.V1Pod,
        remote_pod: k8s.V1Pod,
        xcom_result: dict[str, Any] | None = None,
        context: Context | None = None,
    ) -> None:
        """Read the pod's final state (and its events if it failed), then delete it.

        Called on every ending of a try. It never raises for the pod: the task's
        outcome is decided from the state read here (`_finish`), and an exception
        already on its way out (a timeout, a startup failure) keeps its own message.
        """
        target = remote_pod or pod
        meta = getattr(target, "metadata", None)
        if meta is None or not meta.name:
            return
        name, namespace = meta.name, meta.namespace
        try:
            final = self._final_state(remote_pod, name, namespace)
        except Exception:
            self.log.warning("could not read pod %s/%s before deleting it", namespace, name)
            final = None
        self._final_pod = final
        if final is not None:
            if not self._stopped and not pod_status.succeeded(final, self.base_container_name):
                self._final_events = self._events(name, namespace)
            if self._keeps(final):
                self._mark_kept(name, namespace)
                return
        try:
            self._delete(name, namespace)
        except Exception:
            self.log.warning("could not delete pod %s/%s", namespace, name, exc_info=True)

    # override: deleted through a client of its own (signal handler); no callback on kill.
    def on_kill(self) -> None:
        """Delete the pod now: SIGTERM (marked failed or success, worker stopped) or timeout.

        Runs inside a signal handler, so it talks through a client of its own (the
        interrupted code may hold the shared client's connections) and never raises.
        """
        self._stopped = True
        pod = self.pod
        if pod is None or pod.metadata is None:
            return
        if self.on_kill_action == OnKillAction.KEEP_POD:
            self.log.info("keeping pod %s: on_kill_action is keep_pod", pod.metadata.name)
            return
        api = ApiClient(self.client.api_client.configuration)
        kube = KubeClient(api_client=api, backoff=Backoff(attempts=3, most=1.0), timeout=5.0)
        try:
            kube.raw("DELETE", _POD.path(pod.metadata.namespace, pod.metadata.name))
            self.log.info("deleted pod %s", pod.metadata.name)
        except NotFound:
            pass
        except Exception:
            self.log.warning("could not delete pod %s", pod.metadata.name, exc_info=True)
        finally:
            api.close()

    def _final_state(
        self, remote_pod: k8s.V1Pod | None, name: str, namespace: str
    ) -> Manifest | None:
        status = getattr(remote_pod, "status", None)
        if status is not None and status.phase in TERMINAL_PHASES:
            known: Manifest = self.client.api_client.sanitize_for_serialization(remote_pod)
            return known
        return self._kube.find("v1", "Pod", name, namespace)

    def _keeps(self, pod: Manifest) -> bool:
        action = self.on_finish_action
        if action == OnFinishAction.KEEP_POD:
            return True
        if action == OnFinishAction.DELETE_SUCCEEDED_POD:
            return not pod_status.succeeded(pod, self.base_container_name)
        if action == OnFinishAction.DELETE_ACTIVE_POD:
            return pod_status.phase(pod) not in ("Pending", "Running")
        return False

    def _mark_kept(self, name: str, namespace: str) -> None:
        self.log.info(
            "keeping pod %s/%s: on_finish_action is %s",
            namespace,
            name,
            self.on_finish_action.value,
        )
        with suppress(NotFound):
            self._kube.merge_patch(
                "v1",
                "Pod",
                name,
                {"metadata": {"labels": {self.POD_CHECKED_KEY: "True", KEPT_LABEL: "true"}}},
                namespace,
            )

    def _clean_after_error(self) -> None:
        pod = self.pod or self.pod_request_obj
        if pod is None:
            return
        try:
            self.cleanup(pod=pod, remote_pod=None)
        except Exception:
            self.log.warning("could not clean up after the failure", exc_info=True)

    def _delete(self, name: str, namespace: str) -> None:
        # The pod's own grace period applies; its agent exits on SIGTERM at once.
        try:
            self._kube.raw("DELETE", _POD.path(namespace, name))
        except NotFound:
            return
        self.log.info("deleted pod %s/%s", namespace, name)

    def _delete_unscheduled(self, name: str, namespace: str) -> None:
        # Never raises: the startup failure is the task's error (cleanup tries again).
        self.log.info("deleting pod %s/%s: it was never scheduled", namespace, name)
        try:
            self._delete(name, namespace)
        except Exception:
            self.log.warning("could not delete pod %s/%s", namespace, name, exc_info=True)

    def _events(self, name: str, namespace: str) -> list[Manifest]:
        try:
            return pod_events(self._kube, namespace, name)
        except Exception:
            self.log.warning("could not read the events of pod %s/%s", namespace, name)
            return []

    @cached_property
    def _kube(self) -> KubeClient:
        return KubeClient(api_client=self.client.api_client, reload=self._fresh_api_client)

    def _fresh_api_client(self) -> ApiClient:
        hook = KubernetesHook(
            conn_id=self.kubernetes_conn_id,
            in_cluster=self.in_cluster,
            config_file=self.config_file,
            cluster_context=self.cluster_context,
        )
        api: ApiClient = hook.core_v1_client.api_client
        return api

    # --- the outcome ------------------------------------------------------------
    def _finish(self, context: Context) -> dict[str, Any]:
        if self._stopped:
            raise self._killed_error()
        result = self._result_of(self._final_pod)
        # do_xcom_push=False keeps KubernetesPodOperator's sidecar out of the pod, but
        # the task runner reads the same flag to skip storing the return value: push it here.
        context["ti"].xcom_push(key="return_value", value=result)
        return result

    def _killed_error(self) -> AgentKilledError:
        return AgentKilledError(
            f"task {self.task_id} was stopped while its pod ran (marked failed or success, "
            "worker stopped, or execution_timeout): the pod is deleted and no result is trusted"
        )

    def _failure_text(self, pod: Manifest) -> str:
        return pod_status.failure_summary(pod, self.base_container_name, self._final_events)

    @contextmanager
    def _failures_reported(self) -> Iterator[None]:
        try:
            yield
        except TaskDeferred:
            raise
        except BaseException as err:  # an execution_timeout is a BaseException, and a failure
            if not self._failure_recorded:
                self._failure_recorded = True
                try:
                    self.on_failure(
                        err if isinstance(err, Exception) else AgentInterruptedError(repr(err))
                    )
                except Exception:
                    self.log.warning("could not record the failure", exc_info=True)
            raise

    def _result_of(self, pod: Manifest | None) -> dict[str, Any]:
        """Parse the base container's termination message; only a valid result is success."""
        if pod is None:
            raise AgentResultError(f"pod of {self.task_id} is gone: its result cannot be read")
        if not pod_status.succeeded(pod, self.base_container_name):
            raise AgentPodError(self._failure_text(pod))
        message = (pod_status.terminated(pod, self.base_container_name) or {}).get("message")
        if not message:
            raise AgentResultError(
                f"pod of {self.task_id} ended without a result (no termination message)"
            )
        try:
            result = json.loads(message)
        except json.JSONDecodeError as err:
            raise AgentResultError(
                f"pod of {self.task_id} wrote a result that is not JSON"
            ) from err
        if not isinstance(result, dict):
            raise AgentResultError(f"pod of {self.task_id} wrote a result that is not an object")
        return self.validate_result(result)
