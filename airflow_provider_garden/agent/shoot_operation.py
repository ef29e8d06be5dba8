"""How every shoot operation runs its flow: under the operation Lease, reported as it goes.

``lastOperation`` says Processing with the running task names while the flow runs;
a failure is reported as Error with one ``lastErrors`` entry per failed task (and
the caller's conditions) before it is raised. What success writes is the caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.flow import Flow, FlowError, Progress
from airflow_provider_garden.core.status import (
    Condition,
    LastError,
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
            shoots.report(
                project,
                name,
                type_=operation,
                state=OperationState.ERROR,
                progress=0,
                description=str(err),
                errors=[
                    LastError(description=str(err.failed[0].error), task_id=task)
                    for task in err.failed_tasks
                ],
                conditions=conditions_on_failure(err),
            )
            raise
        on_success()
