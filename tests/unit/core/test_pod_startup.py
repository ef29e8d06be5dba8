"""Startup verdicts: fail fast on what never fixes itself, wait out what does."""

from __future__ import annotations

import pytest

from airflow_provider_garden.core.error_codes import Cause
from airflow_provider_garden.core.pod_startup import (
    Outcome,
    StartupFacts,
    Waiting,
    startup_verdict,
)


def judge(
    facts: StartupFacts, *, waited: float = 1, scheduled_for: float | None = 1
) -> tuple[Outcome, str]:
    verdict = startup_verdict(
        facts,
        waited=waited,
        scheduled_for=scheduled_for,
        schedule_timeout=30,
        startup_timeout=60,
    )
    return verdict.outcome, verdict.reason


def pending(*waiting: Waiting, scheduled: bool = True, **kw: object) -> StartupFacts:
    return StartupFacts(phase="Pending", scheduled=scheduled, waiting=waiting, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("phase", ["Running", "Succeeded", "Failed"])
def test_leaving_pending_is_started(phase: str) -> None:
    assert judge(StartupFacts(phase=phase, scheduled=True)) == (Outcome.STARTED, "")


@pytest.mark.parametrize(
    "reason",
    ["ErrImageNeverPull", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError"],
)
def test_fatal_waiting_reasons_fail_at_once(reason: str) -> None:
    outcome, why = judge(pending(Waiting("base", reason, "the detail")), waited=0.5)
    assert outcome is Outcome.FAILED
    assert why == f"container base: {reason}: the detail"


@pytest.mark.parametrize("reason", ["ErrImagePull", "ImagePullBackOff"])
def test_pull_errors_fail_unless_the_registry_is_only_busy(reason: str) -> None:
    missing = pending(Waiting("base", reason, 'pull "x:1": not found'))
    busy = pending(Waiting("base", reason, "429 Too Many Requests: rate limit"))
    assert judge(missing)[0] is Outcome.FAILED
    assert judge(busy)[0] is Outcome.WAIT


def test_a_missing_secret_volume_fails_at_once() -> None:
    facts = pending(
        Waiting("base", "ContainerCreating"),
        mount_failures=('MountVolume.SetUp failed for volume "kc" : secret "kc" not found',),
    )
    outcome, why = judge(facts)
    assert outcome is Outcome.FAILED
    assert why.startswith('a volume cannot be mounted: MountVolume.SetUp failed for volume "kc"')


def test_other_mount_trouble_is_waited_out() -> None:
    facts = pending(mount_failures=("timed out waiting for the condition",))
    assert judge(facts)[0] is Outcome.WAIT


def test_unschedulable_fails_after_the_schedule_timeout_with_the_schedulers_words() -> None:
    facts = pending(scheduled=False, unschedulable="0/1 nodes are available: node selector")
    assert judge(facts, waited=29, scheduled_for=None)[0] is Outcome.WAIT
    outcome, why = judge(facts, waited=30, scheduled_for=None)
    assert outcome is Outcome.FAILED
    assert why == "not scheduled within 30s: 0/1 nodes are available: node selector"


def test_scheduled_but_not_starting_fails_after_the_startup_timeout() -> None:
    facts = pending(Waiting("base", "ContainerCreating"))
    assert judge(facts, waited=100, scheduled_for=59)[0] is Outcome.WAIT
    outcome, why = judge(facts, waited=100, scheduled_for=60)
    assert outcome is Outcome.FAILED
    assert why == "not started within 60s of being scheduled (base: ContainerCreating)"


# --- no room on the seed ------------------------------------------------------------

NO_CPU = "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available."
UNBOUND = "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims."


def unplaced(*events: str, message: str = "0/1 nodes are available") -> StartupFacts:
    return StartupFacts(
        phase="Pending",
        scheduled=False,
        unschedulable=message,
        pod="garden-system/garden-shoot-reconcile-x",
        scheduling_failures=events,
    )


def capacity(
    facts: StartupFacts, *, waited: float, unschedulable_for: float | None, grace: float = 45
) -> tuple[Outcome, str, Cause | None]:
    verdict = startup_verdict(
        facts,
        waited=waited,
        scheduled_for=None,
        schedule_timeout=120,
        startup_timeout=120,
        unschedulable_for=unschedulable_for,
        capacity_grace=grace,
    )
    return verdict.outcome, verdict.reason, verdict.cause


def test_no_room_for_the_grace_period_fails_with_the_seeds_capacity_as_cause() -> None:
    outcome, why, cause = capacity(unplaced(NO_CPU), waited=46, unschedulable_for=45)
    assert (outcome, cause) == (Outcome.FAILED, Cause.SEED_CAPACITY)
    assert (
        why == f"pod garden-system/garden-shoot-reconcile-x cannot be scheduled (for 45s): {NO_CPU}"
    )


@pytest.mark.parametrize(
    ("facts", "unschedulable_for"),
    [
        (unplaced(NO_CPU), 44.9),  # a busy moment: the scheduler retries when room appears
        (unplaced(NO_CPU), None),  # placed again since (not unschedulable this time round)
        (unplaced(UNBOUND), 100),  # a volume still binding is not a matter of room
        (unplaced("0/1 nodes are available: 1 node(s) had untolerated taint."), 100),
        (StartupFacts(phase="Pending", scheduled=False), 100),  # no scheduler verdict yet
    ],
)
def test_anything_else_unplaced_waits(facts: StartupFacts, unschedulable_for: float | None) -> None:
    assert capacity(facts, waited=100, unschedulable_for=unschedulable_for) == (
        Outcome.WAIT,
        "",
        None,
    )


def test_the_conditions_message_speaks_when_no_event_did_yet() -> None:
    outcome, why, cause = capacity(
        unplaced(message="0/1 nodes are available: 1 Too many pods."),
        waited=50,
        unschedulable_for=50,
    )
    assert (outcome, cause) == (Outcome.FAILED, Cause.SEED_CAPACITY)
    assert why.endswith("Too many pods.")


def test_at_the_schedule_timeout_a_lack_of_room_is_named_whatever_the_grace() -> None:
    outcome, why, cause = capacity(unplaced(NO_CPU), waited=120, unschedulable_for=10, grace=300)
    assert (outcome, cause) == (Outcome.FAILED, Cause.SEED_CAPACITY)
    assert "Insufficient cpu" in why
    # Another reason at the timeout: the plain timeout, without a cause.
    outcome, why, cause = capacity(unplaced(UNBOUND), waited=120, unschedulable_for=100)
    assert (outcome, cause) == (Outcome.FAILED, None)
    assert why.startswith("not scheduled within 120s: ")
