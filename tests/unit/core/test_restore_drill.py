"""A restore drill's verdict: which resource a key stores, and every reason to fail."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from airflow_provider_garden.core.restore_drill import (
    DrillFindings,
    count_objects,
    judge,
    resource_of,
)
from airflow_provider_garden.core.status import (
    DrillState,
    LastRestoreDrill,
    ShootStatus,
    StatusError,
    StatusPatch,
)

T0 = dt.datetime(2026, 12, 6, 15, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("key", "resource"),
    [
        ("/registry/configmaps/db/cm-0001", "configmaps"),
        ("/registry/namespaces/default", "namespaces"),
        ("/registry/deployments/kube-system/coredns", "deployments"),
        # A group's first segment has a dot: the resource is group/resource.
        (
            "/registry/apiregistration.k8s.io/apiservices/v1.apps",
            "apiregistration.k8s.io/apiservices",
        ),
        ("/registry/garden.example.com/shoots/ns/s", "garden.example.com/shoots"),
        # kube-apiserver's own bookkeeping keys count as their first segment.
        ("/registry/masterleases/10.0.0.1", "masterleases"),
        ("/registry/", None),
        ("/other/key", None),
        ("/registry.k8s.io-is-not-the-prefix", None),
    ],
)
def test_resource_of_a_key(key: str, resource: str | None) -> None:
    assert resource_of(key) == resource


def test_objects_are_counted_per_resource_and_foreign_keys_ignored() -> None:
    keys = [
        *(f"/registry/configmaps/db/cm-{i}" for i in range(3)),
        "/registry/namespaces/db",
        "/registry/namespaces/default",
        "/registry/apps.example.com/widgets/db/w",
        "/compact_rev_key",
    ]
    assert count_objects(keys) == {
        "apps.example.com/widgets": 1,
        "configmaps": 3,
        "namespaces": 2,
    }


def _findings(**over: Any) -> DrillFindings:
    base: dict[str, Any] = {
        "snapshot": "Backup-1/Full-0-42-1",
        "manifest_revision": 42,
        "served_revision": 42,
        "objects": {"namespaces": 4, "configmaps": 1000},
    }
    return DrillFindings(**{**base, **over})


def test_a_restored_cluster_at_the_manifests_revision_passes() -> None:
    findings = _findings()
    assert judge(findings) == []
    assert findings.total == 1004


def test_a_revision_mismatch_names_both_revisions_and_the_snapshot() -> None:
    (problem,) = judge(_findings(served_revision=41))
    assert "41" in problem
    assert "42" in problem
    assert "Backup-1/Full-0-42-1" in problem


def test_data_without_namespaces_is_not_a_cluster() -> None:
    (problem,) = judge(_findings(objects={"configmaps": 3}))
    assert "no namespaces" in problem
    assert "3 objects" in problem


def test_every_problem_is_reported_not_only_the_first() -> None:
    assert len(judge(_findings(served_revision=7, objects={}))) == 2


def test_the_status_record_round_trips_on_the_wire() -> None:
    wire = {
        "time": "2026-12-06T15:00:00Z",
        "snapshot": "Backup-1/Full-0-42-1",
        "revision": 42,
        "objects": 1004,
        "state": "Succeeded",
        "description": "restored",
    }
    status = ShootStatus.from_dict({"lastRestoreDrill": wire})
    drill = status.last_restore_drill
    assert drill is not None
    assert drill.succeeded
    assert drill.time == T0
    assert status.to_dict()["lastRestoreDrill"] == wire
    assert StatusPatch(last_restore_drill=drill).to_dict() == {"lastRestoreDrill": wire}


def test_a_failed_drill_without_a_snapshot_writes_null_to_clear_the_last_ones() -> None:
    drill = LastRestoreDrill(time=T0, description="no good snapshot")
    assert drill.state is DrillState.FAILED
    assert drill.to_dict()["snapshot"] is None
    assert drill.to_dict()["revision"] is None


def test_a_drill_state_other_than_succeeded_or_failed_is_refused_by_field() -> None:
    with pytest.raises(StatusError, match=r"status\.lastRestoreDrill\.state"):
        ShootStatus.from_dict({"lastRestoreDrill": {"state": "Processing"}})
