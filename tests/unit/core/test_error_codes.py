from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_garden.core.component import NotReady
from airflow_provider_garden.core.error_codes import (
    CAPACITY_GRACE,
    CODES,
    Cause,
    KnownCause,
    PodScheduling,
    capacity_problem,
    codes_for,
    ended_state,
    last_errors,
)
from airflow_provider_garden.core.flow import PermanentError
from airflow_provider_garden.core.spec_fields import FieldError, SpecError
from airflow_provider_garden.core.status import ErrorCode, LastError, OperationState

NO_CPU = "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available."


def _caused(outer: BaseException, inner: BaseException) -> BaseException:
    outer.__cause__ = inner
    return outer


@pytest.mark.parametrize(
    ("error", "codes"),
    [
        (KnownCause(Cause.INVALID_SPEC, "x"), (ErrorCode.CONFIGURATION_PROBLEM,)),
        (KnownCause(Cause.SEED_CAPACITY, "x"), (ErrorCode.INFRA_QUOTA_EXCEEDED,)),
        (KnownCause(Cause.SNAPSTORE_UNREACHABLE, "x"), (ErrorCode.INFRA_DEPENDENCIES,)),
        (KnownCause(Cause.SNAPSTORE_FULL, "x"), (ErrorCode.INFRA_QUOTA_EXCEEDED,)),
        (SpecError("Shoot p/s", [FieldError("spec.x", "bad")]), (ErrorCode.CONFIGURATION_PROBLEM,)),
        # found anywhere in the chain (a wrapper raised `from` the cause)
        (
            _caused(RuntimeError("wrapped"), KnownCause(Cause.SEED_CAPACITY, "x")),
            (ErrorCode.INFRA_QUOTA_EXCEEDED,),
        ),
        (NotReady("etcd is not ready yet"), (ErrorCode.RETRYABLE_INFRA_DEPENDENCIES,)),
        (ConnectionError("refused"), (ErrorCode.RETRYABLE_INFRA_DEPENDENCIES,)),
    ],
)
def test_codes_for(error: BaseException, codes: tuple[ErrorCode, ...]) -> None:
    assert codes_for(error) == codes


def test_every_cause_has_a_non_retryable_code_and_stops_retries() -> None:
    assert set(CODES) == set(Cause)
    assert all(not code.retryable for code in CODES.values())
    assert isinstance(KnownCause(Cause.SEED_CAPACITY, "x"), PermanentError)


def test_last_errors_keep_each_task_its_own_message_and_codes() -> None:
    errors = last_errors(
        [
            ("Waiting until etcd is ready", KnownCause(Cause.SEED_CAPACITY, "pod etcd-0 ...")),
            ("Waiting until kube-apiserver is ready", NotReady("not yet")),
        ]
    )
    assert errors == (
        LastError(
            description="pod etcd-0 ...",
            codes=(ErrorCode.INFRA_QUOTA_EXCEEDED,),
            task_id="Waiting until etcd is ready",
        ),
        LastError(
            description="not yet",
            codes=(ErrorCode.RETRYABLE_INFRA_DEPENDENCIES,),
            task_id="Waiting until kube-apiserver is ready",
        ),
    )
    assert ended_state(errors) is OperationState.FAILED
    assert ended_state(errors[1:]) is OperationState.ERROR
    assert ended_state(()) is OperationState.ERROR


LONG = CAPACITY_GRACE
SHORT = CAPACITY_GRACE - dt.timedelta(seconds=1)


def pod(
    *,
    unschedulable: bool = True,
    message: str = "",
    events: tuple[str, ...] = (),
    since: dt.timedelta = LONG,
) -> PodScheduling:
    return PodScheduling(
        pod="shoot--p--s/etcd-0",
        unschedulable=unschedulable,
        message=message,
        events=events,
        unschedulable_for=since if unschedulable else dt.timedelta(0),
    )


@pytest.mark.parametrize(
    ("pods", "reason"),
    [
        ([], None),
        ([pod(unschedulable=False)], None),
        ([pod(events=(NO_CPU,))], NO_CPU),
        ([pod(message=NO_CPU)], NO_CPU),  # no event (yet): the condition says it
        ([pod(events=("0/1 nodes are available: 1 Too many pods.",))], "Too many pods"),
        ([pod(events=(NO_CPU,), since=SHORT)], None),  # terminating pods may free room
        # a volume still binding, a taint: not a matter of room in the seed
        (
            [
                pod(
                    events=(
                        "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
                    )
                )
            ],
            None,
        ),
        ([pod(events=("0/1 nodes are available: 1 node(s) had untolerated taint.",))], None),
        # the newest event that speaks of room is quoted
        ([pod(events=("0/1 nodes are available: 1 Insufficient memory.", NO_CPU))], NO_CPU),
    ],
)
def test_capacity_problem(pods: list[PodScheduling], reason: str | None) -> None:
    problem = capacity_problem(pods)
    if reason is None:
        assert problem is None
        return
    assert problem is not None
    assert problem.cause is Cause.SEED_CAPACITY
    assert "shoot--p--s/etcd-0" in str(problem)
    assert reason in str(problem)


def test_a_known_cause_travels_as_the_pods_last_line() -> None:
    from airflow_provider_garden.core.error_codes import known_failure, known_line

    line = known_line(KnownCause(Cause.SNAPSTORE_FULL, "snapshot store local /backups/x is full"))
    assert line == "ERR_INFRA_QUOTA_EXCEEDED: snapshot store local /backups/x is full"
    pod_failure = f"pod ns/p did not succeed: phase Failed\nlast output:\nINFO retention\n{line}\n"
    assert known_failure(pod_failure) == line
    assert (
        known_failure("pod ns/p did not succeed\nlast output:\nTraceback ...\nValueError: x")
        is None
    )
