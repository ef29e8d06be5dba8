"""The etcd component: its pod spec as reconcile builds it from the Shoot, and what it
does about a pod whose data check refused (a fake seed records the writes)."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest

from airflow_provider_garden.agent.components import shoot_components
from airflow_provider_garden.agent.components.etcd import Etcd
from airflow_provider_garden.core.controlplane import manifests as m
from airflow_provider_garden.core.error_codes import Cause, KnownCause
from airflow_provider_garden.core.etcd_data_check import INIT_CONTAINER
from airflow_provider_garden.core.shoot_spec import Backup, SnapstoreKind, SnapstoreRef
from airflow_provider_garden.kube.client import KubeClient

CP = m.ControlPlane(
    namespace="shoot--team-a--dev",
    project="team-a",
    shoot="dev",
    kubernetes_version="v1.32.13",
    pods_cidr="100.96.0.0/11",
    services_cidr="100.64.0.0/13",
)
UID = "aaaaaaaa-1111-4000-8000-000000000001"
SHOOT: dict[str, Any] = {"metadata": {"name": "dev", "namespace": "garden-team-a", "uid": UID}}
BACKUP = Backup(store=SnapstoreRef(kind=SnapstoreKind.LOCAL, prefix="shoot--team-a--dev"))


def _etcd_pod(backup: Backup | None) -> dict[str, Any]:
    components = shoot_components(
        cast(KubeClient, object()),  # building manifests makes no request
        SHOOT,
        CP,
        workers=[],
        backup=backup,
        garden_namespace=None,
        toolbox_image="localhost/garden/toolbox:1",
    )
    (sts,) = [o for o in components.etcd.manifests() if o["kind"] == "StatefulSet"]
    return cast(dict[str, Any], sts["spec"]["template"]["spec"])


def test_etcds_data_check_is_given_the_shoots_own_uid() -> None:
    (check,) = _etcd_pod(BACKUP)["initContainers"]
    command = check["command"]
    assert command[command.index("--shoot-uid") + 1] == UID


def test_a_shoot_without_backups_has_no_data_check() -> None:
    assert "initContainers" not in _etcd_pod(None)


class FakeSeed:
    """The etcd StatefulSet and its one pod refused under ``pod_revision``; records writes.
    Scaled to 0, the pod goes (as the StatefulSet controller deletes it)."""

    def __init__(self, pod_revision: str) -> None:
        refused = json.dumps({"state": "Refused", "reason": "the data directory has no database"})
        self.sts = {
            "metadata": {"generation": 2},
            "spec": {"replicas": 1},
            "status": {"observedGeneration": 2, "updateRevision": "etcd-new"},
        }
        self.pods = [
            {
                "metadata": {
                    "name": "etcd-0",
                    "labels": {"controller-revision-hash": pod_revision},
                },
                "status": {
                    "initContainerStatuses": [
                        {
                            "name": INIT_CONTAINER,
                            "state": {"terminated": {"exitCode": 1, "message": refused}},
                        }
                    ]
                },
            }
        ]
        self.writes: list[tuple[str, Any]] = []

    def find(self, api_version: str, kind: str, name: str, namespace: str) -> Any:
        return self.sts

    def list(self, api_version: str, kind: str, namespace: str, **_: Any) -> list[Any]:
        return self.pods

    def merge_patch(self, api_version: str, kind: str, name: str, patch: Any, ns: str) -> None:
        self.writes.append((f"patch {kind}/{name}", patch))
        if patch["spec"]["replicas"] == 0:
            self.pods = []

    def delete(self, *args: Any) -> None:
        self.writes.append(("delete", args))


def _etcd(seed: FakeSeed) -> Etcd:
    return Etcd(cast(KubeClient, seed), CP, backup=BACKUP, toolbox_image="img", shoot_uid=UID)


def test_a_pod_refused_under_an_older_template_is_recreated_by_scaling_not_deleted() -> None:
    seed = FakeSeed(pod_revision="etcd-old")
    _etcd(seed).refused()  # not reported: the current template (autoRestore since) runs next
    assert seed.writes == [
        ("patch StatefulSet/etcd", {"spec": {"replicas": 0}}),
        ("patch StatefulSet/etcd", {"spec": {"replicas": 1}}),
    ]  # garden-shoot may not delete pods


def test_a_pod_refused_under_the_current_template_is_the_shoots_error() -> None:
    seed = FakeSeed(pod_revision="etcd-new")
    with pytest.raises(KnownCause) as raised:
        _etcd(seed).refused()
    assert raised.value.cause is Cause.ETCD_DATA_LOST
    assert "has no database" in str(raised.value)
    assert seed.writes == []
