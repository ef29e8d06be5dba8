"""How every shoot operation runs its flow: under the operation Lease, reported as it goes.

An operation takes the Lease (:func:`operation_lease`) before it reads the Shoot, so
the spec it applies is the newest one, and holds it until its last write.
``lastOperation`` says Processing with the running task names while the flow runs;
a failure is reported with one ``lastErrors`` entry per failed task, each with the
codes of its cause (``core/error_codes``), as Failed when a code says retrying cannot
help, else Error (and the caller's conditions), before it is raised. What success
writes is the caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

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


@contextmanager
def operation_lease(
    kube: KubeClient,
    *,
    project: str,
    name: str,
    holder: str,
    timing: lease.Timing | None = None,
    wait: float = lease.OPERATION_WAIT,
    on_lost: Callable[[str], None] = lease.abort_process,
) -> Iterator[lease.OperationLease]:
    """Hold the shoot's operation Lease; losing it ends this process (lease.abort_process)
    unless ``on_lost`` says otherwise (care: lease.StopWork, that shoot's work stops)."""
    with lease.held(
        kube,
        namespace=naming.project_namespace(project),
        name=naming.operation_lease(name),
        holder=holder,
        timing=timing or lease.Timing(),
        wait=wait,
        on_lost=on_lost,
    ) as held:
        yield held


def run_reported(
    shoots: Shoots,
    *,
    project: str,
    name: str,
    operation: OperationType,
    flow: Flow,
    on_success: Callable[[], object],
    conditions_on_failure: Callable[[FlowError], Sequence[Condition]] = lambda _: (),
) -> None:
    """Run ``flow`` (the caller holds the shoot's operation Lease), then ``on_success``."""

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
