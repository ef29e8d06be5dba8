from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from airflow_provider_garden.core.shoot_resource import spec_to_dict, to_resource
from airflow_provider_garden.core.shoot_spec import (
    DEFAULT_PODS_CIDR,
    DEFAULT_SERVICES_CIDR,
    RetentionPolicy,
    SnapstoreKind,
    default_window,
    new_spec,
    parse_shoot,
)
from airflow_provider_garden.core.spec_fields import SpecError

FULL: dict[str, Any] = {
    "apiVersion": "garden.airflow.io/v1alpha1",
    "kind": "Shoot",
    "metadata": {"name": "dev", "namespace": "garden-team-a", "uid": "x", "labels": {"a": "b"}},
    "spec": {
        "kubernetes": {"version": "1.32.3"},
        "networking": {
            "pods": "100.96.0.0/11",
            "services": "100.64.0.0/13",
            "nodes": "10.250.0.0/16",
        },
        "workers": [
            {
                "name": "pool-a",
                "machine": {"type": "local", "image": {"name": "gardenlinux", "version": "1592.2"}},
                "minimum": 1,
                "maximum": 3,
                "maxSurge": "25%",
                "maxUnavailable": 1,
            }
        ],
        "maintenance": {
            "timeWindow": {"begin": "220000+0100", "end": "230000+0100"},
            "weekdays": ["Sat", "Sun"],
            "exclusions": ["2026-12-26"],
            "autoUpdate": {"kubernetesVersion": False, "machineImageVersion": True},
        },
        "addons": {"kustomize": {"path": "overlays/dev"}},
        "backup": {
            "store": {
                "kind": "s3",
                "bucket": "etcd-backups",
                "prefix": "team-a/dev",
                "secretRef": {"name": "s3-creds"},
            },
            "schedule": "*/30 * * * *",
            "retention": {"policy": "LimitBased", "maxBackups": 5},
            "retentionAfterDeletion": "36h",
        },
    },
    "status": {"lastOperation": {"state": "Succeeded"}},
}

MINIMAL: dict[str, Any] = {
    "metadata": {"name": "dev", "namespace": "garden-team-a"},
    "spec": {"kubernetes": {"version": "1.32.3"}},
}


def test_parse_full_resource() -> None:
    spec = parse_shoot(FULL)
    assert (spec.project, spec.name) == ("team-a", "dev")
    assert spec.namespace == "shoot--team-a--dev"
    assert spec.project_namespace == "garden-team-a"
    (worker,) = spec.workers
    assert worker.machine_type == "local"
    assert (worker.image.name, worker.image.version) == ("gardenlinux", "1592.2")
    assert (worker.minimum, worker.maximum, worker.max_surge, worker.max_unavailable) == (
        1,
        3,
        "25%",
        1,
    )
    assert spec.networking.nodes == "10.250.0.0/16"
    assert spec.maintenance.begin == "220000+0100"
    assert spec.maintenance.auto_update_kubernetes is False
    assert spec.maintenance.auto_update_machine_image is True
    assert spec.addons is not None
    assert spec.addons.path == "overlays/dev"
    assert spec.backup is not None
    assert spec.backup.store.kind is SnapstoreKind.S3
    assert spec.backup.store.secret_name == "s3-creds"
    assert spec.backup.policy is RetentionPolicy.LIMIT_BASED
    assert spec.backup.keep_last == 5
    assert spec.backup.retention_after_deletion == dt.timedelta(hours=36)


def test_defaults() -> None:
    spec = parse_shoot(MINIMAL)
    assert spec.workers == ()
    assert spec.networking.pods == DEFAULT_PODS_CIDR
    assert spec.networking.services == DEFAULT_SERVICES_CIDR
    assert spec.networking.nodes is None
    assert (spec.maintenance.begin, spec.maintenance.end) == default_window("team-a", "dev")
    assert spec.maintenance.auto_update_kubernetes is True
    assert spec.addons is None
    assert spec.backup is None
    with_pool = copy.deepcopy(MINIMAL)
    with_pool["spec"]["workers"] = [copy.deepcopy(FULL["spec"]["workers"][0])]
    del with_pool["spec"]["workers"][0]["maxSurge"]
    del with_pool["spec"]["workers"][0]["maxUnavailable"]
    with_pool["spec"]["backup"] = {"store": {}}
    spec = parse_shoot(with_pool)
    assert (spec.workers[0].max_surge, spec.workers[0].max_unavailable) == (1, 0)
    assert spec.workers[0].machine_health_timeout == dt.timedelta(minutes=10)
    assert spec.workers[0].allow_scale_to_zero is False
    assert spec.backup is not None
    assert spec.backup.store.kind is SnapstoreKind.LOCAL
    assert spec.backup.store.prefix == "shoot--team-a--dev"
    assert spec.backup.schedule == "0 * * * *"
    assert spec.backup.retention_after_deletion == dt.timedelta(days=7)  # the default
    assert spec.backup.policy is RetentionPolicy.EXPONENTIAL
    assert spec.backup.keep_last == 7


def test_default_window_is_stable_and_spread() -> None:
    assert default_window("team-a", "dev") == default_window("team-a", "dev")
    begins = {default_window("p", f"shoot-{i}")[0] for i in range(100)}
    assert len(begins) > 12  # 100 shoots land in many different hours
    begin, end = default_window("team-a", "dev")
    assert (int(begin[:2]) + 1) % 24 == int(end[:2])


def test_round_trip() -> None:
    spec = parse_shoot(FULL)
    again = parse_shoot(to_resource(spec, api_version="garden.airflow.io/v1alpha1"))
    assert again == spec
    minimal = parse_shoot(MINIMAL)
    assert parse_shoot({"metadata": MINIMAL["metadata"], "spec": spec_to_dict(minimal)}) == minimal


def test_new_spec_is_what_parse_shoot_reads_from_a_minimal_shoot() -> None:
    """Code that writes Shoots itself (benchmarks, test helpers) gets parse_shoot's defaults."""
    minimal = parse_shoot(MINIMAL)
    built = new_spec(minimal.project, minimal.name, minimal.kubernetes_version)
    assert built == minimal
    resource = to_resource(built, api_version="garden.airflow.io/v1alpha1", annotations={"a": "b"})
    assert resource["metadata"]["annotations"] == {"a": "b"}
    assert parse_shoot(resource) == minimal


def with_change(path: str, value: object) -> dict[str, Any]:
    """FULL with the value at a dotted path replaced (or deleted when value is DELETE)."""
    obj = copy.deepcopy(FULL)
    *parents, last = path.split(".")
    node: Any = obj
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    if value is DELETE:
        del node[last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return obj


DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("metadata.namespace", "team-a", "metadata.namespace: must be garden-<project>"),
        ("metadata.name", DELETE, "metadata.name: required"),
        ("spec.kubernetes.version", 1.32, "spec.kubernetes.version: must be a string, got float"),
        ("spec.kubernetes", DELETE, "spec.kubernetes.version: required"),
        ("spec.workers", {"name": "a"}, "spec.workers: must be a list, got an object"),
        (
            "spec.workers.0.minimum",
            "1",
            "spec.workers[0].minimum: must be an integer, got a string",
        ),
        (
            "spec.workers.0.maximum",
            True,
            "spec.workers[0].maximum: must be an integer, got a boolean",
        ),
        ("spec.workers.0.maxSurge", "25", "spec.workers[0].maxSurge: '25' is neither"),
        ("spec.workers.0.maxUnavailable", -1, "spec.workers[0].maxUnavailable: -1 is negative"),
        ("spec.workers.0.machine", DELETE, "spec.workers[0].machine: required"),
        (
            "spec.backup.retentionAfterDeletion",
            "7d",
            "spec.backup.retentionAfterDeletion: '7d' must be a number with s, m or h",
        ),
        (
            "spec.workers.0.machineHealthTimeout",
            "10min",
            "spec.workers[0].machineHealthTimeout: '10min' must be a number with s, m or h",
        ),
        (
            "spec.workers.0.allowScaleToZero",
            "yes",
            "spec.workers[0].allowScaleToZero: must be true/false",
        ),
        ("spec.workers.0.maxsurge", 2, "spec.workers[0].maxsurge: unknown field"),
        (
            "spec.maintenance.autoUpdate.kubernetesVersion",
            "yes",
            "kubernetesVersion: must be true/false",
        ),
        ("spec.maintenance.timeWindow", {"begin": "220000+0100"}, "timeWindow.end: required"),
        ("spec.backup.store.kind", "gcs", "spec.backup.store.kind: must be one of local, s3"),
        ("spec.backup.retention.policy", "Forever", "must be one of Exponential, LimitBased"),
        ("spec.backup.autoRestore", "yes", "spec.backup.autoRestore: must be true/false"),
        ("spec.addons.kustomize", "overlays/dev", "spec.addons.kustomize: must be an object"),
        ("spec.extra", {}, "spec.extra: unknown field"),
        ("kind", "Deployment", "kind: must be Shoot"),
    ],
)
def test_parse_errors_name_the_field(path: str, value: object, expected: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_shoot(with_change(path, value))
    assert expected in str(info.value)


def test_parse_reports_every_problem_at_once() -> None:
    obj = with_change("spec.workers.0.minimum", "one")
    obj["spec"]["workers"][0]["maxSurge"] = "lots"
    obj["spec"]["networking"]["pods"] = 10
    with pytest.raises(SpecError) as info:
        parse_shoot(obj)
    assert [e.path for e in info.value.errors] == [
        "spec.workers[0].minimum",
        "spec.workers[0].maxSurge",
        "spec.networking.pods",
    ]
    assert str(info.value).startswith("invalid Shoot garden-team-a/dev (3 problem(s)):\n- ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", dt.timedelta(seconds=90)),
        ("10m", dt.timedelta(minutes=10)),
        ("2h", dt.timedelta(hours=2)),
    ],
)
def test_machine_health_timeout_reads_and_writes_back(text: str, expected: dt.timedelta) -> None:
    spec = parse_shoot(with_change("spec.workers.0.machineHealthTimeout", text))
    assert spec.workers[0].machine_health_timeout == expected
    assert spec_to_dict(spec)["workers"][0]["machineHealthTimeout"] == text


def test_backup_auto_restore_is_off_unless_set_and_written_back() -> None:
    assert parse_shoot(FULL).backup.auto_restore is False  # type: ignore[union-attr]
    spec = parse_shoot(with_change("spec.backup.autoRestore", True))
    assert spec.backup is not None
    assert spec.backup.auto_restore is True
    assert spec_to_dict(spec)["backup"]["autoRestore"] is True
