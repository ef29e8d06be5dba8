"""Reaper decisions: delete a pod only when its task instance is over."""

from __future__ import annotations

import pytest

from airflow_provider_garden.core.pod_reaper import (
    ReapCandidate,
    TaskKey,
    plan_reap,
)

HERE = "airflow-here"
KEY = TaskKey(dag_id="d", run_id="manual__1", task_id="t")
MAPPED = TaskKey(dag_id="d", run_id="manual__1", task_id="t", map_index=3)


def decide(
    pod: ReapCandidate, states: dict[TaskKey, str | None], *, reap_unknown_dags: bool = False
) -> tuple[bool, str]:
    [decision] = plan_reap(
        [pod], instance=HERE, known_dags={"d"}, states=states, reap_unknown_dags=reap_unknown_dags
    )
    return decision.delete, decision.why


def candidate(
    owner: TaskKey | None = KEY, *, kept: bool = False, instance: str | None = HERE
) -> ReapCandidate:
    return ReapCandidate(namespace="ns", name="p", owner=owner, kept=kept, instance=instance)


@pytest.mark.parametrize("state", ["success", "failed", "skipped", "upstream_failed", "removed"])
def test_finished_task_instances_lose_their_pods(state: str) -> None:
    assert decide(candidate(), {KEY: state}) == (True, f"its task instance is {state}")


@pytest.mark.parametrize(
    "state",
    [
        "running",
        "queued",
        "scheduled",
        "deferred",
        "up_for_retry",
        "up_for_reschedule",
        "restarting",
        "awaiting_input",
    ],
)
def test_live_task_instances_keep_their_pods(state: str) -> None:
    assert decide(candidate(), {KEY: state}) == (False, f"its task instance is {state}")


def test_a_cleared_task_instance_keeps_its_pod() -> None:
    assert decide(candidate(), {KEY: None}) == (False, "its task instance is waiting to run")


def test_a_vanished_task_instance_loses_its_pod() -> None:
    assert decide(candidate(), {}) == (True, "its task instance no longer exists")


def test_map_index_is_part_of_the_identity() -> None:
    assert decide(candidate(MAPPED), {KEY: "running"})[0] is True
    assert decide(candidate(MAPPED), {MAPPED: "running"})[0] is False


def test_pods_without_identity_or_kept_are_never_deleted() -> None:
    assert decide(candidate(None), {}) == (
        False,
        "no task identity: not launched by a garden operator",
    )
    assert decide(candidate(kept=True), {KEY: "failed"}) == (
        False,
        "kept on request after its task ended",
    )


def test_unknown_dags_are_kept_unless_asked() -> None:
    stranger = candidate(TaskKey(dag_id="elsewhere", run_id="r", task_id="t"))
    assert decide(stranger, {}) == (False, "DAG elsewhere unknown to this Airflow")
    assert decide(stranger, {}, reap_unknown_dags=True) == (
        True,
        "DAG elsewhere does not exist here",
    )


def test_pods_of_another_installation_are_never_judged_here() -> None:
    # The same DAG id and task instance, finished here: still not this installation's pod.
    assert decide(candidate(instance="airflow-there"), {KEY: "failed"}) == (
        False,
        "launched by installation airflow-there, not this one (airflow-here)",
    )
    assert decide(candidate(instance=None), {}, reap_unknown_dags=True) == (
        False,
        "launched by no installation, not this one (airflow-here)",
    )
    foreign_unknown = candidate(TaskKey("elsewhere", "r", "t"), instance="airflow-there")
    assert decide(foreign_unknown, {}, reap_unknown_dags=True)[0] is False


def test_an_empty_instance_judges_nothing() -> None:
    with pytest.raises(ValueError, match=r"\[garden\] instance: must not be empty"):
        plan_reap([candidate(instance="")], instance="", known_dags={"d"}, states={})
