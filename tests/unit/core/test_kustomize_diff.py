from __future__ import annotations

from typing import Any

from airflow_provider_garden.core.kustomize_diff import Action, Change, DiffSummary, changed_paths
from airflow_provider_garden.core.kustomize_objects import ObjectRef


def live(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "resourceVersion": "1", "generation": 1, "managedFields": []},
        "spec": {"replicas": 1, "template": {"spec": {"containers": [{"image": "a"}]}}, **spec},
        "status": {"replicas": 1},
    }


def test_only_declared_differences_count() -> None:
    desired = live(replicas=3)
    desired["metadata"] |= {"resourceVersion": "2", "generation": 2, "managedFields": [{}]}
    desired["status"] = {"replicas": 3}
    assert changed_paths(live(), desired) == ["spec.replicas"]
    assert changed_paths(live(), live()) == []


def test_list_items_and_added_keys() -> None:
    desired = live(template={"spec": {"containers": [{"image": "b"}]}}, paused=True)
    assert changed_paths(live(), desired) == [
        "spec.paused",
        "spec.template.spec.containers[0].image",
    ]


def test_secret_values_never_appear() -> None:
    old = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "b2xk"}}
    new = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "bmV3"}}
    paths = changed_paths(old, new)
    change = Change(
        ref=ObjectRef("", "Secret", "ns", "s"), action=Action.UPDATE, paths=tuple(paths)
    )
    assert change.line() == "~ Secret/ns/s: data.password"
    assert "bmV3" not in change.line()
    assert "b2xk" not in change.line()


def test_summary_lines_and_counts() -> None:
    cm = ObjectRef("", "ConfigMap", "ns", "c")
    summary = DiffSummary(
        changes=[
            Change(ref=cm, action=Action.UNCHANGED),
            Change(ref=cm, action=Action.CREATE),
            Change(ref=cm, action=Action.RECREATE, note="spec.selector (field is immutable)"),
            Change(ref=cm, action=Action.UPDATE, paths=tuple(f"data.k{i}" for i in range(10))),
        ]
    )
    assert summary.changed
    assert summary.counts()["unchanged"] == 1
    assert summary.lines() == [
        "+ ConfigMap/ns/c",
        "! ConfigMap/ns/c (spec.selector (field is immutable))",
        "~ ConfigMap/ns/c: " + ", ".join(f"data.k{i}" for i in range(8)) + " (+2 more)",
    ]
    assert not DiffSummary(changes=[Change(ref=cm, action=Action.UNCHANGED)]).changed
