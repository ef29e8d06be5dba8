"""ShootCreateOperator and ShootDeleteOperator."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.error_codes import ended_state, last_errors
from airflow_provider_garden.core.maintenance import KUBERNETES_VERSION_FIELD
from airflow_provider_garden.core.project import quota_problem, shoot_machines
from airflow_provider_garden.core.shoot_resource import envelope, to_resource
from airflow_provider_garden.core.shoot_schema import at, value_errors
from airflow_provider_garden.core.shoot_spec import ShootSpec, parse_shoot
from airflow_provider_garden.core.spec_fields import FieldError, SpecError
from airflow_provider_garden.core.status import OperationState, OperationType, ShootStatus
from airflow_provider_garden.core.validation import validate
from airflow_provider_garden.core.version_rules import running_version, version_change_problem
from airflow_provider_garden.hooks.garden import GardenHook
from airflow_provider_garden.hooks.project_access import ProjectAccessError
from airflow_provider_garden.kube import cloudprofile
from airflow_provider_garden.kube.projects import Projects
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.operators.pod import AgentResultError, AgentStartupError
from airflow_provider_garden.operators.shoot_pod import ShootPodOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

DELETE_CONFIRMATION = "confirmation.garden.airflow.io/deletion"


def confirm_deletion(hook: GardenHook, project: str, name: str) -> bool:
    """Annotate the Shoot so ShootDeleteOperator may delete it; False if it does not exist."""
    if hook.shoots.find(project, name) is None:
        return False
    hook.kube.merge_patch(
        SHOOT_API_VERSION,
        "Shoot",
        name,
        {"metadata": {"annotations": {DELETE_CONFIRMATION: "true"}}},
        naming.project_namespace(project),
    )
    return True


class _ShootOperator(ShootPodOperator):
    service_account = "garden-shoot"

    def __init__(self, *, project: str, name: str, **kwargs: Any) -> None:
        agent_args = ["--project", project, "--name", name]
        super().__init__(project=project, name=name, agent_args=agent_args, **kwargs)

    def _report_failure(self, op: OperationType, error: BaseException) -> None:
        """Leave the truth in the Shoot when the pod could not (it died, never started),
        with the error's codes (``core.error_codes``: a seed without room for the pod is
        ERR_INFRA_QUOTA_EXCEEDED) and the state they call for."""
        shoot = self.garden.shoots.find(self.project, self.shoot_name)
        if shoot is None:
            return  # not made yet (a create whose pod never ran), or gone
        last = ShootStatus.from_shoot(shoot).last_operation
        reported = (OperationState.ERROR, OperationState.FAILED)
        never_ran = isinstance(error, AgentStartupError)
        if not never_ran and last is not None and last.state in reported:
            return  # the agent already reported the failure (and its codes) itself
        errors = last_errors([(self.task_id, error)])
        self.garden.shoots.report(
            self.project,
            self.shoot_name,
            type_=last.type if last else op,
            state=ended_state(errors),
            progress=last.progress if last else 0,
            description=f"task {self.task_id} failed: {type(error).__name__}",
            errors=errors,
        )


class ShootCreateOperator(_ShootOperator):
    """Create a shoot, or reconcile it to ``spec`` when it exists.

    The run's user must be an admin of the project (a Project resource; a scheduled
    run acts as its owner), the spec valid and within the project's quota before
    anything is created; the project's namespace ``garden-<project>`` is then made
    from the Project and a pod runs ``garden-agent shoot reconcile``, which applies
    the Shoot resource there holding the shoot's operation Lease, then reconciles.
    Returns the reconcile summary (no credentials): the admin kubeconfig is in the
    Secret ``garden-<project>/<name>.kubeconfig``.

    :param project: project of the shoot (templated).
    :param name: shoot name (templated).
    :param spec: the Shoot's ``spec`` in the resource's camelCase shape (templated;
        a dict or its JSON text). None reconciles the spec the Shoot already has.
    :param kubernetes_version: with no ``spec``: a new ``spec.kubernetes.version``
        (templated; maintenance's patch update). The pod writes it into the Shoot's spec
        holding the shoot's operation Lease, then reconciles; checked against the
        CloudProfile before the pod starts. Nothing here writes the Shoot.
    :param planned_from: with ``kubernetes_version``: the version the spec named when
        the update was planned (templated); a spec naming another by the time the pod
        holds the Lease is refused naming the field, not overwritten.
    """

    template_fields = (
        *_ShootOperator.template_fields,
        "spec",
        "kubernetes_version",
        "planned_from",
    )
    # The UI's "Rendered Template" shows the spec as JSON, not a Python repr.
    template_fields_renderers: ClassVar[dict[str, str]] = {
        **_ShootOperator.template_fields_renderers,
        "spec": "json",
    }
    verb = ("shoot", "reconcile")

    def __init__(
        self,
        *,
        spec: Mapping[str, Any] | str | None = None,
        kubernetes_version: str | None = None,
        planned_from: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.kubernetes_version = kubernetes_version
        self.planned_from = planned_from

    def requested_spec(self) -> ShootSpec:
        """The desired spec, parsed (SpecError naming every malformed field); with a new
        ``kubernetes_version``, the stored spec as the pod will write it."""
        if self.spec is None:
            stored = parse_shoot(self.garden.shoots.get(self.project, self.shoot_name))
            if self.kubernetes_version:
                return replace(stored, kubernetes_version=str(self.kubernetes_version))
            return stored
        spec = json.loads(self.spec) if isinstance(self.spec, str) else self.spec
        return parse_shoot(
            envelope(self.project, self.shoot_name, spec, api_version=SHOOT_API_VERSION)
        )

    def shoot_resource(self) -> dict[str, Any]:
        """The Shoot to apply: the parsed spec with its defaults written out."""
        return to_resource(self.requested_spec(), api_version=SHOOT_API_VERSION)

    def validate_inputs(self) -> None:
        self._check_kubernetes_version()
        spec = self.requested_spec()
        profile = cloudprofile.read(self.garden.kube, self.settings.namespace)
        offer = profile.offer()
        offer["provider_namespace"] = self.settings.namespace  # no project may map onto it
        errors = validate(spec, **offer)
        if self.spec is not None and (
            stored := self.garden.shoots.find(self.project, self.shoot_name)
        ):
            # Fails fast here; the pod checks again holding the Lease.
            change = version_change_problem(running_version(stored), spec.kubernetes_version)
            errors += [change] if change else []
        if errors:
            raise SpecError(f"Shoot {self.project}/{self.shoot_name}", errors)
        self._check_quota()

    def _projects(self) -> Projects:
        return Projects(self.garden.kube, provider_namespace=self.settings.namespace)

    def _check_quota(self) -> None:
        project = self.allowed_projects[self.project]
        problem = quota_problem(
            project,
            self._projects().machines_by_shoot(project),
            shoot=self.shoot_name,
            machines=shoot_machines(self.shoot_resource()["spec"]),
        )
        if problem is not None:
            raise ProjectAccessError(problem)

    def _check_kubernetes_version(self) -> None:
        if not self.kubernetes_version:
            return
        problems = (
            [
                FieldError(
                    "kubernetes_version",
                    f"applies to the stored spec; with spec, set {KUBERNETES_VERSION_FIELD} in it",
                )
            ]
            if self.spec is not None
            else value_errors(
                at(KUBERNETES_VERSION_FIELD), self.kubernetes_version, "kubernetes_version"
            )
        )
        if problems:
            raise SpecError(f"Shoot {self.project}/{self.shoot_name}", problems)

    def before_pod(self, context: Context) -> None:
        # etcd's data check runs the same image as this task's pod.
        args = ["--toolbox-image", self.settings.toolbox_image]
        if self.kubernetes_version:
            # The pod writes it into the spec, holding the shoot's Lease: nothing here does.
            args += ["--kubernetes-version", str(self.kubernetes_version)]
            args += ["--planned-from", str(self.planned_from)] if self.planned_from else []
        if self.spec is not None:
            # The namespace comes from the Project (checked in authorize), never from a
            # Param alone; the Shoot's Lease lives there. The pod writes the Shoot.
            self._projects().ensure_namespace(self.allowed_projects[self.project])
            args += ["--desired-shoot", json.dumps(self.shoot_resource(), separators=(",", ":"))]
        self.arguments = self.agent_command(
            "--project", self.project, "--name", self.shoot_name, *args
        )

    def on_failure(self, error: Exception) -> None:
        self._report_failure(OperationType.RECONCILE, error)

    def validate_result(self, result: dict[str, Any]) -> dict[str, Any]:
        if result.get("state") != OperationState.SUCCEEDED or result.get("name") != self.shoot_name:
            raise AgentResultError(
                f"reconcile of {self.project}/{self.shoot_name} did not succeed: {result}"
            )
        return result


class ShootDeleteOperator(_ShootOperator):
    """Delete a shoot: its control plane, its Secrets, then the Shoot resource.

    Refused unless the Shoot carries the annotation
    ``confirmation.garden.airflow.io/deletion: "true"`` (set it with
    ``kubectl annotate shoot``), so a mistyped name deletes nothing.

    :param project: project of the shoot (templated).
    :param name: shoot name (templated).
    """

    verb = ("shoot", "delete")

    def validate_inputs(self) -> None:
        shoot = self.garden.shoots.find(self.project, self.shoot_name)
        if shoot is None:
            return  # nothing to refuse; the agent reports it as already gone
        annotations = shoot["metadata"].get("annotations") or {}
        if annotations.get(DELETE_CONFIRMATION) != "true":
            raise SpecError(
                f"deletion of Shoot {self.project}/{self.shoot_name}",
                [
                    FieldError(
                        f"metadata.annotations[{DELETE_CONFIRMATION}]",
                        'must be "true" to confirm deletion (kubectl annotate shoot '
                        f"-n {naming.project_namespace(self.project)} {self.shoot_name} "
                        f"{DELETE_CONFIRMATION}=true)",
                    )
                ],
            )

    def on_failure(self, error: Exception) -> None:
        self._report_failure(OperationType.DELETE, error)

    def validate_result(self, result: dict[str, Any]) -> dict[str, Any]:
        if result.get("state") not in ("Deleted", "Absent"):
            raise AgentResultError(
                f"deletion of {self.project}/{self.shoot_name} did not finish: {result}"
            )
        return result
