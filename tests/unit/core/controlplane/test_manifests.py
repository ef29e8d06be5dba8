from __future__ import annotations

import dataclasses

import pytest

from airflow_provider_garden.core.controlplane import etcd_pod
from airflow_provider_garden.core.controlplane import manifests as m
from airflow_provider_garden.core.seed_policy import POD_SECURITY_LABELS
from airflow_provider_garden.core.shoot_spec import Backup, SnapstoreKind, SnapstoreRef

CP = m.ControlPlane(
    namespace="shoot--team-a--dev",
    project="team-a",
    shoot="dev",
    kubernetes_version="v1.32.13",
    pods_cidr="100.96.0.0/11",
    services_cidr="100.64.0.0/13",
)


def test_images_carry_upstream_names_and_the_shoot_version() -> None:
    assert (
        m.apiserver(CP)["spec"]["template"]["spec"]["containers"][0]["image"]
        == "registry.k8s.io/kube-apiserver:v1.32.13"
    )
    assert m.scheduler(CP)["spec"]["template"]["spec"]["containers"][0]["image"].endswith(
        ":v1.32.13"
    )


def test_apiserver_uses_the_shoots_service_range_and_its_etcd() -> None:
    cmd = m.apiserver(CP)["spec"]["template"]["spec"]["containers"][0]["command"]
    assert "--service-cluster-ip-range=100.64.0.0/13" in cmd
    assert "--etcd-servers=https://etcd.shoot--team-a--dev.svc:2379" in cmd


def test_etcd_keeps_its_data_on_a_claim() -> None:
    sts = m.etcd(CP)
    assert (
        sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "1Gi"
    )
    mounts = sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"name": "data", "mountPath": "/var/lib/etcd"} in mounts


def test_no_secret_material_in_pod_specs() -> None:
    # credentials come from Secret volumes only, never inline env values
    for obj in (m.etcd(CP), m.apiserver(CP), m.controller_manager(CP), m.scheduler(CP)):
        container = obj["spec"]["template"]["spec"]["containers"][0]
        assert "env" not in container
        assert all(
            v["secret"]["defaultMode"] == 0o400 for v in obj["spec"]["template"]["spec"]["volumes"]
        )


def test_shoot_kubernetes_ip_is_first_host_of_service_range() -> None:
    assert m.shoot_kubernetes_ip("100.64.0.0/13") == "100.64.0.1"


def test_etcds_quota_is_a_quarter_of_its_volume() -> None:
    command = m.etcd(CP)["spec"]["template"]["spec"]["containers"][0]["command"]
    assert f"--quota-backend-bytes={256 * 1024 * 1024}" in command
    bigger = m.etcd(dataclasses.replace(CP, etcd_storage="4Gi"))
    assert (
        f"--quota-backend-bytes={1024**3}"
        in bigger["spec"]["template"]["spec"]["containers"][0]["command"]
    )


def test_the_local_stores_claim_has_the_size_asked_for() -> None:
    claim = m.backup_volume(CP, 768 * 1024 * 1024)
    assert claim["spec"]["resources"]["requests"]["storage"] == "768Mi"


UID = "aaaaaaaa-1111-4000-8000-000000000001"


def _backup(kind: str = "local", *, auto_restore: bool = False) -> Backup:
    store = SnapstoreRef(
        kind=SnapstoreKind(kind),
        prefix="shoot--team-a--dev",
        bucket="b-1" if kind == "s3" else None,
        secret_name="s3" if kind == "s3" else None,
    )
    return Backup(store=store, auto_restore=auto_restore)


def test_etcd_without_backups_has_no_data_check() -> None:
    assert "initContainers" not in m.etcd(CP)["spec"]["template"]["spec"]


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_etcd_data_check_runs_first_on_the_data_volume_with_the_store(kind: str) -> None:
    init = etcd_pod.data_check(_backup(kind), "localhost/garden/toolbox:1", shoot_uid=UID)
    pod = m.etcd(CP, init)["spec"]["template"]["spec"]
    (check,) = pod["initContainers"]
    assert check["name"] == "etcd-data-check"
    assert check["image"] == "localhost/garden/toolbox:1"
    assert check["command"][:4] == ["garden-agent", "etcd", "check-data", "--store-kind"]
    assert "--auto-restore" not in check["command"]
    # judged against this shoot's own snapshots only (a deleted namesake's are kept)
    assert check["command"][check["command"].index("--shoot-uid") + 1] == UID
    # the same volume etcd mounts, at the same place, so the data directory path matches
    etcd_mount = pod["containers"][0]["volumeMounts"][0]
    assert etcd_mount in check["volumeMounts"]
    arg = check["command"].index("--data-mount")
    assert check["command"][arg + 1] == etcd_mount["mountPath"]
    volumes = {v["name"] for v in pod["volumes"]}
    assert {"tls", "store", "work"} <= volumes
    mounted = {x["name"] for x in check["volumeMounts"]}
    assert mounted <= volumes | {"data"}
    assert check["securityContext"]["runAsUser"] == 0  # etcd's data directory is root's


def test_auto_restore_is_passed_to_the_data_check() -> None:
    init = etcd_pod.data_check(_backup(auto_restore=True), "img", shoot_uid=UID)
    assert "--auto-restore" in init.container["command"]


def test_the_data_check_needs_the_shoots_uid() -> None:
    with pytest.raises(ValueError, match=r"metadata\.uid"):
        etcd_pod.data_check(_backup(), "img", shoot_uid="")


def test_the_namespace_enforces_baseline_pod_security() -> None:
    labels = m.namespace(CP)["metadata"]["labels"]
    assert labels.items() >= POD_SECURITY_LABELS.items()  # no privileged pod, whoever asks
    assert labels.items() >= CP.labels.items()


def test_the_apiserver_encrypts_secrets_with_the_seeds_key() -> None:
    spec = m.apiserver(CP)["spec"]["template"]["spec"]
    [container] = spec["containers"]
    flag = "--encryption-provider-config=/etc/kubernetes/encryption/config.yaml"
    assert flag in container["command"]
    mounts = {v["mountPath"]: v["name"] for v in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes[mounts["/etc/kubernetes/encryption"]]["secret"]["secretName"] == (
        "etcd-encryption"
    )
