"""Startup verdicts: fail fast on what never fixes itself, wait out what does."""

from __future__ import annotations

import pytest

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
