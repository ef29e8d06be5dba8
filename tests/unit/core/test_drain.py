"""Drain rules: which pods go, in what order, which budgets block (plain dicts, no cluster)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_garden.core import drain


def pod(
    name: str,
    node: str = "n1",
    *,
    ns: str = "app",
    labels: dict[str, str] | None = None,
    owner: str | None = None,
    pvc: bool = False,
    terminating: bool = False,
    mirror: bool = False,
    phase: str = "Running",
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "labels": labels or {"app": "web"}}
    if owner:
        meta["ownerReferences"] = [{"kind": owner, "name": "x", "controller": True}]
    if terminating:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    if mirror:
        meta["annotations"] = {drain.MIRROR_ANNOTATION: "abc"}
    volumes = [{"name": "data", "persistentVolumeClaim": {"claimName": "d"}}] if pvc else []
    return {
        "metadata": meta,
        "spec": {"nodeName": node, "volumes": volumes},
        "status": {"phase": phase},
    }


def pdb(
    name: str, allowed: int, selector: dict[str, Any] | None, ns: str = "app"
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": selector},
        "status": {"disruptionsAllowed": allowed, "currentHealthy": 18, "desiredHealthy": 18},
    }


def names(pods: list[dict[str, Any]]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


def test_drain_leaves_daemonset_and_mirror_pods_and_other_nodes_alone() -> None:
    pods = [
        pod("a"),
        pod("ds", owner="DaemonSet"),
        pod("static", mirror=True),
        pod("rs", owner="ReplicaSet"),
        pod("elsewhere", node="n2"),
    ]
    assert names(drain.pods_to_drain(pods, ["n1"])) == ["a", "rs"]


def test_pods_with_volumes_go_one_at_a_time_after_the_others() -> None:
    pods = [pod("v2", pvc=True), pod("plain"), pod("v1", pvc=True)]
    assert names(drain.next_evictions(pods)) == ["plain", "v1"]


def test_no_volume_pod_starts_while_another_volume_pod_terminates() -> None:
    pods = [pod("v1", pvc=True, terminating=True), pod("v2", pvc=True), pod("plain")]
    assert names(drain.next_evictions(pods)) == ["plain"]


def test_terminating_pods_are_not_evicted_again() -> None:
    assert drain.next_evictions([pod("a", terminating=True)]) == []


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        (None, {"app": "web"}, False),  # a null selector selects nothing
        ({}, {"app": "web"}, True),  # an empty one selects everything
        ({"matchLabels": {"app": "web"}}, {"app": "web", "x": "1"}, True),
        ({"matchLabels": {"app": "web"}}, {"app": "db"}, False),
        (
            {"matchExpressions": [{"key": "app", "operator": "In", "values": ["a", "web"]}]},
            {"app": "web"},
            True,
        ),
        (
            {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]},
            {"app": "web"},
            False,
        ),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}, {}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {"app": "web"}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, {"app": "web"}, True),
    ],
)
def test_selector_semantics(
    selector: dict[str, Any] | None, labels: dict[str, str], matches: bool
) -> None:
    assert drain.selector_matches(selector, labels) is matches


def test_blocking_budgets_name_only_exhausted_budgets_covering_the_pods() -> None:
    pods = [pod("a"), pod("b", labels={"app": "db"})]
    budgets = [
        pdb("web", 0, {"matchLabels": {"app": "web"}}),
        pdb("web-other-ns", 0, {"matchLabels": {"app": "web"}}, ns="other"),
        pdb("db", 1, {"matchLabels": {"app": "db"}}),
        pdb("unrelated", 0, {"matchLabels": {"app": "cache"}}),
    ]
    assert drain.blocking_budgets(pods, budgets) == [
        "app/web (allows 0 disruptions: 18 of 18 desired pods healthy)"
    ]


def test_finished_or_leaving_pods_cost_no_budget() -> None:
    pods = [pod("done", phase="Succeeded"), pod("leaving", terminating=True)]
    assert drain.blocking_budgets(pods, [pdb("web", 0, {})]) == []


def with_empty_dir(p: dict[str, Any]) -> dict[str, Any]:
    p["spec"]["volumes"] = [{"name": "scratch", "emptyDir": {}}]
    return p


@pytest.mark.parametrize(
    ("pods", "expected"),
    [
        ([pod("a", owner="ReplicaSet")], []),
        ([pod("bare")], ["app/bare (no controller)"]),
        ([with_empty_dir(pod("cache", owner="ReplicaSet"))], ["app/cache (emptyDir data)"]),
        ([with_empty_dir(pod("both"))], ["app/both (no controller, emptyDir data)"]),
        # Finished or leaving pods lose nothing more by being evicted.
        ([pod("done", phase="Succeeded"), pod("leaving", terminating=True)], []),
        ([pod("z"), pod("b")], ["app/b (no controller)", "app/z (no controller)"]),
    ],
)
def test_unsafe_evictions_name_bare_pods_and_empty_dir_data(
    pods: list[dict[str, Any]], expected: list[str]
) -> None:
    assert drain.unsafe_evictions(pods) == expected
