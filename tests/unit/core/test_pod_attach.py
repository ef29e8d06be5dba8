"""Attach plan: at most one active pod per task instance; reattach only to a live pod."""

from __future__ import annotations

import pytest

from airflow_provider_garden.core.pod_attach import AttachPlan, PodFacts, plan_attach

T1, T2, T3 = "2026-11-30T01:00:00Z", "2026-11-30T01:01:00Z", "2026-11-30T01:02:00Z"


def pod(name: str, phase: str, created: str = T1, **flags: bool) -> PodFacts:
    return PodFacts(name=name, phase=phase, created=created, **flags)


@pytest.mark.parametrize(
    ("pods", "reattach", "reuse", "removed", "wait_for"),
    [
        pytest.param([], True, None, [], [], id="nothing-there"),
        pytest.param([pod("a", "Running")], True, "a", [], [], id="running-is-reused"),
        pytest.param([pod("a", "Pending")], True, "a", [], [], id="pending-is-reused"),
        pytest.param([pod("a", "Running")], False, None, ["a"], ["a"], id="no-reattach"),
        pytest.param(
            [pod("a", "Running", checked=True)], True, None, ["a"], ["a"], id="checked-not-reused"
        ),
        pytest.param(
            [pod("a", "Running", deleting=True)], True, None, [], ["a"], id="deleting-awaited"
        ),
        pytest.param([pod("a", "Succeeded")], True, None, ["a"], ["a"], id="succeeded-removed"),
        pytest.param([pod("a", "Failed")], True, None, ["a"], ["a"], id="failed-removed"),
        pytest.param([pod("a", "Unknown")], True, None, ["a"], ["a"], id="unknown-removed"),
        pytest.param(
            [pod("a", "Failed", kept=True)], True, None, [], [], id="kept-terminal-left-alone"
        ),
        pytest.param(
            [pod("a", "Running", kept=True, checked=True)],
            True,
            None,
            ["a"],
            ["a"],
            id="kept-but-running-removed",
        ),
        pytest.param(
            [pod("old", "Running", T1), pod("new", "Running", T2)],
            True,
            "new",
            ["old"],
            ["old"],
            id="newest-of-duplicates-wins",
        ),
        pytest.param(
            [
                pod("a", "Failed", T1),
                pod("b", "Running", T2, deleting=True),
                pod("c", "Pending", T3),
            ],
            True,
            "c",
            ["a"],
            ["a", "b"],
            id="mixed",
        ),
    ],
)
def test_plan(
    pods: list[PodFacts],
    reattach: bool,
    reuse: str | None,
    removed: list[str],
    wait_for: list[str],
) -> None:
    plan = plan_attach(pods, reattach=reattach)
    assert plan.reuse == reuse
    assert [name for name, _ in plan.remove] == removed
    assert list(plan.wait_for) == wait_for


def test_every_removal_says_why() -> None:
    plan = plan_attach(
        [pod("old", "Running", T1), pod("new", "Running", T2), pod("done", "Succeeded", T1)],
        reattach=True,
    )
    assert dict(plan.remove) == {
        "done": "Succeeded: left over from an earlier try",
        "old": "Running: an older duplicate of new",
    }


def test_plan_is_plain_data() -> None:
    assert plan_attach([], reattach=True) == AttachPlan(reuse=None, remove=(), wait_for=())
