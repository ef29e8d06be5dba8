"""How every shoot operation runs its flow: under the operation Lease, reported as it goes.

``lastOperation`` says Processing with the running task names while the flow runs;
a failure is reported with one ``lastErrors`` entry per failed task, each with the
codes of its cause (``core/error_codes``), as Failed when a code says retrying cannot
help, else Error (and the caller's conditions), before it is raised. What success
writes is the caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.error_codes import ended_state, last_errors
from airflow_provider_garden.core.flow import Flow, FlowError, Progress
from airflow_provider_garden.core.status import (
    Condition,
    OperationState,
    OperationType,
)
from airflow_provider_garden.kube import lease
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.shoots import Shoots


def run_reported(
    kube: KubeClient,
    shoots: Shoots,
    *,
    project: str,
    name: str,
    operation: OperationType,
    flow: Flow,
    holder: str,
    on_success: Callable[[], object],
    conditions_on_failure: Callable[[FlowError], Sequence[Condition]] = lambda _: (),
) -> None:
    """Run ``flow`` holding the shoot's operation Lease; ``on_success`` still holds it."""

    def report(state: OperationState, progress: int, description: str) -> None:
        shoots.report(
            project,
            name,
            type_=operation,
            state=state,
            progress=progress,
            description=description,
        )

    def on_progress(p: Progress) -> None:
        report(OperationState.PROCESSING, min(p.percent, 99), p.description)

    with lease.held(
        kube,
        namespace=naming.project_namespace(project),
        name=naming.operation_lease(name),
        holder=holder,
    ):
        report(OperationState.PROCESSING, 0, "Starting")
        try:
            flow.run(on_progress=on_progress, max_workers=2)
        except FlowError as err:
            errors = last_errors([(o.name, o.error) for o in err.failed if o.error])
            shoots.report(
                project,
                name,
                type_=operation,
                state=ended_state(errors),
                progress=0,
                description=str(err),
                errors=errors,
                conditions=conditions_on_failure(err),
            )
            raise
        on_success()
