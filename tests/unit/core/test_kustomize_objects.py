from __future__ import annotations

import copy
from typing import Any

import pytest

from airflow_provider_garden.core.kustomize_objects import (
    ObjectRef,
    duplicates,
    ordered,
    prune_order,
    ref_of,
    with_namespaces,
)


def obj(api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": meta}


def test_crds_and_namespaces_first_then_legacy_order_stable() -> None:
    objs = [
        obj("example.com/v1", "Widget", "w"),
        obj("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "hook"),
        obj("apps/v1", "Deployment", "d"),
        obj("v1", "ConfigMap", "b"),
        obj("v1", "Service", "s"),
        obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com"),
        obj("v1", "ConfigMap", "a"),
        obj("v1", "Namespace", "ns"),
    ]
    assert [f"{o['kind']}/{o['metadata']['name']}" for o in ordered(objs)] == [
        "Namespace/ns",
        "CustomResourceDefinition/widgets.example.com",
        "ConfigMap/b",
        "ConfigMap/a",
        "Service/s",
        "Deployment/d",
        "Widget/w",
        "ValidatingWebhookConfiguration/hook",
    ]


def test_prune_order_is_apply_order_backwards() -> None:
    refs = [
        ObjectRef("", "Namespace", "", "ns"),
        ObjectRef("apps", "Deployment", "ns", "d"),
        ObjectRef("example.com", "Widget", "ns", "w"),
        ObjectRef("apiextensions.k8s.io", "CustomResourceDefinition", "", "widgets.example.com"),
        ObjectRef("", "ConfigMap", "ns", "c"),
    ]
    assert [r.kind for r in prune_order(refs)] == [
        "Widget",
        "Deployment",
        "ConfigMap",
        "CustomResourceDefinition",
        "Namespace",
    ]


@pytest.mark.parametrize(
    ("given", "namespaced", "expected"),
    [
        (obj("v1", "ConfigMap", "c"), True, "team"),
        (obj("v1", "ConfigMap", "c", ""), True, "team"),
        (obj("v1", "ConfigMap", "c", "other"), True, "other"),
        (obj("rbac.authorization.k8s.io/v1", "ClusterRole", "r", "team"), False, ""),
    ],
)
def test_namespaces_resolved(given: dict[str, Any], namespaced: bool, expected: str) -> None:
    before = copy.deepcopy(given)
    [out] = with_namespaces([given], lambda _g, _k: namespaced, "team")
    assert ref_of(out).namespace == expected
    assert given == before


def test_duplicates_and_display() -> None:
    a = obj("v1", "ConfigMap", "c", "ns")
    assert duplicates([a, obj("v1", "ConfigMap", "d", "ns"), a]) == [ref_of(a)]
    assert str(ref_of(a)) == "ConfigMap/ns/c"
    assert str(ref_of(obj("v1", "Namespace", "ns"))) == "Namespace/ns"
