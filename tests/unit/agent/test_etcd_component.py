"""The etcd component's pod spec as reconcile builds it from the Shoot (no API calls)."""

from __future__ import annotations

from typing import Any, cast

from airflow_provider_garden.agent.components import shoot_components
from airflow_provider_garden.core.controlplane import manifests as m
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
