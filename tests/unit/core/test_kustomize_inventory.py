from __future__ import annotations

import pytest

from airflow_provider_garden.core.kustomize_inventory import (
    Entry,
    from_configmap,
    inventory_name,
    merged,
    plan_prune,
    to_configmap,
)
from airflow_provider_garden.core.kustomize_objects import ObjectRef

NS = ObjectRef("", "Namespace", "", "team")
CRD = ObjectRef("apiextensions.k8s.io", "CustomResourceDefinition", "", "widgets.example.com")
PV = ObjectRef("", "PersistentVolume", "", "pv1")
CM = ObjectRef("", "ConfigMap", "team", "settings")
DEP = ObjectRef("apps", "Deployment", "team", "web")
WIDGET = ObjectRef("example.com", "Widget", "team", "w")
VERSIONS = {"": "v1", "apps": "apps/v1", "apiextensions.k8s.io": "apiextensions.k8s.io/v1"}


def entry(ref: ObjectRef, uid: str = "") -> Entry:
    return Entry(ref=ref, api_version=VERSIONS.get(ref.group, f"{ref.group}/v1"), uid=uid)


ALL = [entry(r, f"uid-{r.name}") for r in (NS, CRD, PV, CM, DEP, WIDGET)]


@pytest.mark.parametrize(
    ("current", "allow", "deleted", "kept"),
    [
        ({NS, CRD, PV, CM, DEP, WIDGET}, (), [], []),
        ({NS, CRD, PV, CM}, (), ["w", "web"], []),
        (set(), (), ["w", "web", "settings"], ["pv1", "widgets.example.com", "team"]),
        (
            set(),
            ("Namespace", "CustomResourceDefinition", "PersistentVolume"),
            ["w", "web", "pv1", "settings", "widgets.example.com", "team"],
            [],
        ),
        ({CM}, ("Namespace",), ["w", "web", "team"], ["pv1", "widgets.example.com"]),
    ],
)
def test_prune_plan(
    current: set[ObjectRef], allow: tuple[str, ...], deleted: list[str], kept: list[str]
) -> None:
    plan = plan_prune(ALL, current, allow_kinds=allow)
    assert [e.ref.name for e in plan.delete] == deleted
    assert [e.ref.name for e in plan.kept] == kept


def test_unknown_objects_are_never_candidates() -> None:
    # an object with our labels that the inventory does not list is simply not there
    plan = plan_prune([entry(CM)], set())
    assert [e.ref for e in plan.delete] == [CM]


def test_configmap_round_trip() -> None:
    cm = to_configmap("addons", "kube-system", ALL, source="overlays/production")
    assert cm["metadata"]["name"] == "garden-inventory-addons"
    assert from_configmap(cm) == sorted(ALL)
    assert from_configmap(None) == []


@pytest.mark.parametrize("bad", ["", "Upper", "-x", "x" * 64, "a_b"])
def test_inventory_id_rules(bad: str) -> None:
    with pytest.raises(ValueError, match="inventory id"):
        inventory_name(bad)


def test_merged_keeps_known_uids() -> None:
    out = merged([entry(CM, "u1"), entry(DEP, "u2")], [entry(CM), entry(WIDGET)])
    assert {e.ref.name: e.uid for e in out} == {"settings": "u1", "web": "u2", "w": ""}
