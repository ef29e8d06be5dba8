"""The local driver's nodes, its configuration, and kwok's manifests (no cluster)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from airflow_provider_garden.core.controlplane import secrets as cps
from airflow_provider_garden.core.controlplane.manifests import ControlPlane
from airflow_provider_garden.core.shoot_spec import MachineImage, Worker
from airflow_provider_garden.drivers import base, local
from airflow_provider_garden.localseed import versions

WORKER = Worker(
    name="pool-a",
    machine_type="local",
    image=MachineImage(name="gardenlinux", version="1592.2"),
    minimum=3,
    maximum=5,
)
CP = ControlPlane(
    namespace="shoot--p--s",
    project="p",
    shoot="s",
    kubernetes_version="v1.32.13",
    pods_cidr="100.96.0.0/11",
    services_cidr="100.64.0.0/13",
)


def test_config_from_shoot_annotations() -> None:
    config = local.LocalDriverConfig.from_annotations(
        {local.BOOT_DELAY_ANNOTATION: "3s", local.NEVER_READY_ANNOTATION: "1592.2, 1592.3"}
    )
    assert config.boot_delay == "3s"
    assert config.never_ready_versions == {"1592.2", "1592.3"}
    assert local.LocalDriverConfig.from_annotations(None) == local.LocalDriverConfig()


@pytest.mark.parametrize("delay", ["3", "3 s", "1.5s", "-1s", "3d"])
def test_bad_boot_delay_is_refused_naming_the_annotation(delay: str) -> None:
    with pytest.raises(ValueError, match=local.BOOT_DELAY_ANNOTATION):
        local.LocalDriverConfig.from_annotations({local.BOOT_DELAY_ANNOTATION: delay})


def test_node_says_what_the_machine_is_and_registers_not_ready() -> None:
    node = local.node_manifest("s-pool-a-abcde", WORKER, local.LocalDriverConfig())
    labels = node["metadata"]["labels"]
    assert labels[base.LABEL_POOL] == "pool-a"
    assert labels[base.LABEL_MACHINE_TYPE] == "local"
    assert (labels[base.LABEL_IMAGE_NAME], labels[base.LABEL_IMAGE_VERSION]) == (
        "gardenlinux",
        "1592.2",
    )
    assert node["metadata"]["annotations"] == {local.MANAGED_ANNOTATION: local.MANAGED_VALUE}
    assert node["spec"]["taints"] == [local.NOT_READY_TAINT]
    assert node["status"]["nodeInfo"]["osImage"] == "gardenlinux 1592.2"


def test_injected_boot_behaviour_reaches_the_node() -> None:
    config = local.LocalDriverConfig(boot_delay="2s", never_ready_versions=frozenset({"1592.2"}))
    annotations = local.node_manifest("n", WORKER, config)["metadata"]["annotations"]
    assert annotations[local.NODE_BOOT_DELAY] == "2s"
    assert annotations[local.NODE_NEVER_READY] == "true"


def node(ready: str | None, *, unschedulable: bool = False) -> dict[str, Any]:
    conditions = [] if ready is None else [{"type": "Ready", "status": ready, "reason": "R"}]
    return {
        "metadata": {
            "name": "n1",
            "creationTimestamp": "2026-11-30T10:00:00Z",
            "labels": {base.LABEL_POOL: "pool-a", base.LABEL_IMAGE_VERSION: "1592.1"},
        },
        "spec": {"unschedulable": unschedulable},
        "status": {"conditions": conditions},
    }


def test_machine_state_from_its_node() -> None:
    booting = local.machine_of(node(None))
    assert (booting.ready, booting.health) == (False, "booting: no Ready condition yet")
    assert booting.created is not None
    assert booting.created.hour == 10
    ready = local.machine_of(node("True", unschedulable=True))
    assert (ready.ready, ready.cordoned, ready.image_version) == (True, True, "1592.1")
    lost = local.machine_of(node("Unknown"))
    assert not lost.ready
    assert lost.health.startswith("Ready=Unknown")
    assert ready.for_rollout().version == "1592.1"


def test_stages_read_the_annotations_the_driver_writes() -> None:
    stages = {s["metadata"]["name"]: s for s in local.kwok_stages()}
    assert set(stages) == {
        "node-initialize",
        "node-heartbeat-with-lease",
        "node-not-ready",
        "pod-ready",
        "pod-ready-again",
        "pod-complete",
        "pod-delete",
    }
    init = stages["node-initialize"]["spec"]
    keys = [e["key"] for e in init["selector"]["matchExpressions"]]
    assert f'.metadata.annotations["{local.NODE_NEVER_READY}"]' in keys
    assert local.NODE_BOOT_DELAY in init["delay"]["durationFrom"]["expressionFrom"]


def test_kwok_runs_the_image_the_seed_builds_with_its_own_certificate() -> None:
    assert local.KWOK_VERSION == versions.KWOK
    config, deployment = local.controller_seed_manifests(CP)
    assert "kwok.yaml" in config["data"]
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["image"] == f"registry.k8s.io/kwok/kwok:{versions.KWOK}"
    assert "--cidr=100.96.0.0/11" in container["args"]
    # The heartbeat stage relies on node Leases: kwok must renew them.
    assert "--node-lease-duration-seconds=40" in container["args"]
    [secret] = [v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v]
    endpoints = cps.Endpoints(
        namespace=CP.namespace,
        apiserver_cluster_ip="10.0.0.10",
        shoot_kubernetes_ip="100.64.0.1",
        external_server="https://10.0.0.10",
    )
    issued = cps.plan_secrets({}, endpoints, now=dt.datetime.now(dt.UTC))
    assert secret in issued
    assert pod["automountServiceAccountToken"] is False


def test_kwok_gets_a_role_in_the_shoot_for_its_certificate_user() -> None:
    role, binding = local.controller_shoot_manifests()
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": local.KWOK_USER}
    ]
    granted = {r for rule in role["rules"] for r in rule["resources"]}
    assert {"nodes", "nodes/status", "pods", "pods/status", "leases"} <= granted
    assert "secrets" not in granted


def test_not_ready_injection_is_read_by_the_stages_that_must_leave_the_node_alone() -> None:
    stages = {s["metadata"]["name"]: s for s in local.kwok_stages()}
    annotation = f'.metadata.annotations["{local.NODE_NOT_READY}"]'
    for name, operator in (
        ("node-not-ready", "Exists"),
        ("node-initialize", "DoesNotExist"),
        ("node-heartbeat-with-lease", "DoesNotExist"),
    ):
        found = stages[name]["spec"]["selector"]["matchExpressions"]
        assert {"key": annotation, "operator": operator} in found, name
    assert '"False"' in stages["node-not-ready"]["spec"]["next"]["statusTemplate"]


class Patches:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, dict[str, Any]]] = []

    def merge_patch(
        self, api_version: str, kind: str, name: str, patch: dict[str, Any]
    ) -> dict[str, Any]:
        self.calls.append((api_version, kind, name, patch))
        return patch


def test_inject_not_ready_annotates_the_node() -> None:
    api = Patches()
    local.inject_not_ready(api, "n1")
    assert api.calls == [
        ("v1", "Node", "n1", {"metadata": {"annotations": {local.NODE_NOT_READY: "true"}}})
    ]


def test_health_view_of_a_replacement_node() -> None:
    found = node("False")
    found["status"]["conditions"][0]["lastTransitionTime"] = "2026-11-30T10:05:00Z"
    found["metadata"]["annotations"] = {local.NODE_REPLACES: "old-1"}
    machine = local.machine_of(found).for_health()
    assert machine.replaces == "old-1"
    assert machine.ready_changed == dt.datetime(2026, 11, 30, 10, 5, tzinfo=dt.UTC)
    assert local.machine_of(node(None)).for_health().ready_changed is None
