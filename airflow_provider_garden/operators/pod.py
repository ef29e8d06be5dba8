"""The one pod-launch path every garden operator shares.

An operator of this provider is a KubernetesPodOperator that runs one
`garden-agent` verb in the toolbox image. This module composes that pod spec in
one place; operators only say which verb, which arguments, which Secrets to
mount and how to check the result. Precedence, lowest first: the `[garden]`
config section, this class's defaults, the operator's own values, then what the
DAG author passed explicitly.

Why these defaults:
- `termination_message_policy=FallbackToLogsOnError`: a verb that crashes before
  writing its result still explains itself in the pod status.
- results travel in the termination message, not through the XCom sidecar: no
  second image to pull and no sidecar that can hang the pod.
- `log_pod_spec_on_failure=False`: a dumped pod is noise and a leak risk.
- Secrets reach the pod only as read-only Secret volumes, never as env values.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.utils.container import get_container_termination_message
from airflow.sdk.configuration import conf
from airflow.sdk.exceptions import AirflowException
from kubernetes.client import models as k8s

if TYPE_CHECKING:
    from airflow.sdk import Context

OPERATION_LABEL = "garden.airflow.io/operation"
PROVIDER_LABEL = "garden.airflow.io/managed-by"
PROVIDER_LABEL_VALUE = "airflow-provider-garden"


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


class AgentPodOperator(KubernetesPodOperator):
    """Run one ``garden-agent`` verb in the toolbox image and return its JSON result.

    :param agent_args: extra arguments after the verb (templated through ``arguments``).
    :param secret_mounts: Secrets mounted read-only into the pod.
    """

    #: the garden-agent verb, e.g. ("shoot", "reconcile"); set by each operator
    verb: ClassVar[tuple[str, ...]] = ()
    #: ServiceAccount of this operator kind (least privilege, one per kind)
    service_account: ClassVar[str | None] = None

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
        kwargs.setdefault("kubernetes_conn_id", conf.get("garden", "kubernetes_conn_id"))
        kwargs.setdefault("namespace", conf.get("garden", "namespace"))
        kwargs.setdefault("image", conf.get("garden", "toolbox_image"))
        kwargs.setdefault(
            "startup_timeout_seconds", conf.getint("garden", "startup_timeout_seconds")
        )
        kwargs.setdefault("name", f"garden-{operation}")
        kwargs.setdefault("image_pull_policy", "IfNotPresent")
        if self.service_account is not None:
            kwargs.setdefault("service_account_name", self.service_account)
        super().__init__(
            cmds=["garden-agent"],
            arguments=[*self.verb, *agent_args],
            labels={
                PROVIDER_LABEL: PROVIDER_LABEL_VALUE,
                OPERATION_LABEL: operation,
                **(labels or {}),
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
            reattach_on_restart=True,
            on_finish_action="delete_pod",
            on_kill_action="delete_pod",
            **kwargs,
        )

    # --- hooks for operators ------------------------------------------------
    def validate_inputs(self) -> None:
        """Check rendered inputs before anything is created; raise naming field and rule."""

    def before_pod(self, context: Context) -> None:
        """Write what the pod needs to find (e.g. the Shoot resource) before it starts."""

    def validate_result(self, result: dict[str, Any]) -> dict[str, Any]:
        """Check the verb's result before the task may succeed; return what goes to XCom."""
        return result

    def on_failure(self, error: Exception) -> None:
        """Record a failure the pod could not record itself (it died or never ran)."""

    # --- the shared path ----------------------------------------------------
    def execute(self, context: Context) -> Any:
        self.validate_inputs()
        self.before_pod(context)
        # TaskDeferred is a BaseException: deferring is not a failure.
        with self._failures_reported():
            return super().execute(context)

    def execute_sync(self, context: Context) -> Any:
        super().execute_sync(context)
        return self._push_result(context, self._result_of(self.remote_pod))

    def trigger_reentry(self, context: Context, event: dict[str, Any]) -> Any:
        with self._failures_reported():
            super().trigger_reentry(context, event)
            return self._push_result(context, self._result_of(self.pod))

    @staticmethod
    def _push_result(context: Context, result: dict[str, Any]) -> dict[str, Any]:
        # do_xcom_push=False keeps KubernetesPodOperator's sidecar out of the pod, but
        # the task runner reads the same flag to skip storing the return value: push it here.
        context["ti"].xcom_push(key="return_value", value=result)
        return result

    @contextmanager
    def _failures_reported(self) -> Iterator[None]:
        try:
            yield
        except Exception as err:
            try:
                self.on_failure(err)
            except Exception:
                self.log.warning("could not record the failure", exc_info=True)
            raise

    def _result_of(self, pod: k8s.V1Pod | None) -> dict[str, Any]:
        """Parse the base container's termination message; only a valid result is success."""
        message = get_container_termination_message(pod, self.base_container_name) if pod else None
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
