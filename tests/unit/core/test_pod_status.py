"""Pod readings: facts for the attach and startup decisions, and failure explanations."""

from __future__ import annotations

from typing import Any

from airflow_provider_garden.core import pod_status
from airflow_provider_garden.core.pod_attach import PodFacts
from airflow_provider_garden.core.pod_startup import StartupFacts, Waiting

FAILED_POD: dict[str, Any] = {
    "metadata": {"name": "p", "namespace": "ns"},
    "status": {
        "phase": "Failed",
        "containerStatuses": [
            {
                "name": "base",
                "state": {
                    "terminated": {"exitCode": 2, "reason": "Error", "message": "usage: x\nbad"}
                },
            }
        ],
    },
}
EVENTS: list[dict[str, Any]] = [
    {
        "type": "Warning",
        "reason": "BackOff",
        "message": "restarting",
        "count": 3,
        "firstTimestamp": "2026-11-30T01:00:02+00:00",
    },
    {
        "type": "Normal",
        "reason": "Scheduled",
        "message": "assigned",
        "eventTime": "2026-11-30T01:00:01+00:00",
    },
]


def test_attach_facts_read_phase_deletion_and_marks() -> None:
    pod = {
        "metadata": {
            "name": "p",
            "creationTimestamp": "2026-11-30T01:00:00+00:00",
            "deletionTimestamp": "2026-11-30T01:05:00+00:00",
            "labels": {"already_checked": "True", "kept": "true"},
        },
        "status": {"phase": "Running"},
    }
    facts = pod_status.attach_facts(pod, checked_label="already_checked", kept_label="kept")
    assert facts == PodFacts(
        name="p",
        phase="Running",
        created="2026-11-30T01:00:00+00:00",
        deleting=True,
        checked=True,
        kept=True,
    )


def test_startup_facts_gather_waiting_containers_scheduling_and_mount_failures() -> None:
    pod = {
        "status": {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/1",
                }
            ],
            "initContainerStatuses": [
                {"name": "init", "state": {"waiting": {"reason": "PodInitializing"}}}
            ],
            "containerStatuses": [
                {"name": "base", "state": {"waiting": {"reason": "ErrImagePull", "message": "m"}}}
            ],
        }
    }
    events = [{"reason": "FailedMount", "message": 'secret "s" not found'}, {"reason": "Pulled"}]
    assert pod_status.startup_facts(pod, events) == StartupFacts(
        phase="Pending",
        scheduled=False,
        unschedulable="0/1",
        waiting=(Waiting("init", "PodInitializing"), Waiting("base", "ErrImagePull", "m")),
        mount_failures=('secret "s" not found',),
    )


def test_succeeded_needs_the_phase_and_exit_code_zero() -> None:
    ok = {
        "status": {
            "phase": "Succeeded",
            "containerStatuses": [{"name": "base", "state": {"terminated": {"exitCode": 0}}}],
        }
    }
    assert pod_status.succeeded(ok, "base")
    assert not pod_status.succeeded(ok, "other")
    assert not pod_status.succeeded(FAILED_POD, "base")


def test_failure_summary_names_phase_exit_output_and_events_in_order() -> None:
    assert pod_status.failure_summary(FAILED_POD, "base", EVENTS) == (
        "pod ns/p did not succeed: phase Failed; container base exited 2 (Error)\n"
        "last output:\nusage: x\nbad\n"
        "pod events:\n"
        "  Normal Scheduled: assigned\n"
        "  Warning BackOff (x3): restarting"
    )


def test_a_pod_that_never_ran_says_so() -> None:
    pod = {"metadata": {"name": "p", "namespace": "ns"}, "status": {"phase": "Pending"}}
    assert pod_status.failure_summary(pod, "base", []) == (
        "pod ns/p did not succeed: phase Pending; container base never terminated"
    )


def test_startup_facts_name_the_pod_and_quote_the_schedulers_failures_oldest_first() -> None:
    pod = {
        "metadata": {"name": "p", "namespace": "ns"},
        "status": {
            "phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}],
        },
    }
    events = [
        # events.k8s.io events in the core view: a repeated one's newest time is its series'
        {
            "reason": "FailedScheduling",
            "message": "newest",
            "eventTime": "2026-12-07T10:00:01.000000Z",
            "series": {"count": 3, "lastObservedTime": "2026-12-07T10:00:09.000000Z"},
        },
        {
            "reason": "FailedScheduling",
            "message": "oldest",
            "lastTimestamp": "2026-12-07T10:00:00Z",
        },
        {"reason": "FailedScheduling", "message": "middle", "eventTime": "2026-12-07T10:00:05Z"},
        {"reason": "Pulled", "message": "not the scheduler's"},
    ]
    facts = pod_status.startup_facts(pod, events)
    assert facts.pod == "ns/p"
    assert facts.scheduling_failures == ("oldest", "middle", "newest")
    # Unschedulable without a message still counts as unschedulable.
    assert facts.unschedulable == "Unschedulable"


def test_a_scheduled_pod_is_not_unschedulable_whatever_its_reason_says() -> None:
    pod = {
        "status": {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "True",
                    "reason": "Unschedulable",
                    "message": "m",
                }
            ],
        }
    }
    facts = pod_status.startup_facts(pod, [])
    assert (facts.scheduled, facts.unschedulable) == (True, "")
