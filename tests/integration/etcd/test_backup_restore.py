"""etcd backups end to end: 1,000 ConfigMaps in a shoot, backed up, deleted, restored.

Runs the bundled DAGs (garden_provision, garden_backup, garden_restore) with
`dag.test()`: real pods on the local seed, a real etcd, a real snapstore (a volume
in the seed, or a bucket on a real S3-compatible server reachable from pods).
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from s3server import S3Server, start
from seed_kubectl import kubectl as seed_kubectl
from shoot_cleanup import delete_shoot

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.controlplane.manifests import BACKUP_VOLUME_CLAIM
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.localseed.config import NODE_IP

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("airflow_seed_connection")]
DAGS = Path(__file__).resolve().parents[3] / "dags"
COUNT = 1000


@pytest.fixture(scope="module")
def bundled() -> dict[str, Any]:
    return DagBag(dag_folder=str(DAGS)).dags


def run(dags: dict[str, Any], dag_id: str, **conf: Any) -> str:
    return str(dags[dag_id].test(run_conf=conf).state)


def shoot_kubeconfig(seed: KubeClient, project: str, name: str, tmp: Path) -> Path:
    secret = seed.get(
        "v1", "Secret", naming.kubeconfig_secret(name), naming.project_namespace(project)
    )
    path = tmp / f"{project}-{name}.kubeconfig"
    path.write_bytes(base64.b64decode(secret["data"]["kubeconfig-external"]))
    return path


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> str:
    """kubectl against the shoot; every call here is idempotent, so a transient error
    (a slow answer on a loaded machine) is retried before it fails the test."""
    for attempt in range(3):
        out = subprocess.run(
            [seed_kubectl(), "--kubeconfig", str(kubeconfig), "--request-timeout=60s", *args],
            input=stdin, capture_output=True, text=True, check=False, timeout=300,
        )  # fmt: skip
        if out.returncode == 0:
            return out.stdout
        time.sleep(5 * (attempt + 1))
    raise AssertionError(f"kubectl {' '.join(args)} failed: {out.stderr.strip()[-500:]}")


def bulk_configmaps(kubeconfig: Path) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bulk"}}
    kubectl(kubeconfig, "apply", "-f", "-", stdin=json.dumps(namespace))
    items = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"cm-{i:04d}", "namespace": "bulk", "labels": {"bulk": "yes"}},
            "data": {"i": str(i)},
        }
        for i in range(COUNT)
    ]
    for chunk in range(0, COUNT, 250):
        kubectl(
            kubeconfig,
            "apply",
            "-f",
            "-",
            stdin=json.dumps(
                {"apiVersion": "v1", "kind": "List", "items": items[chunk : chunk + 250]}
            ),
        )


def count_configmaps(kubeconfig: Path) -> int:
    return len(
        kubectl(
            kubeconfig, "get", "configmaps", "-n", "bulk", "-l", "bulk=yes", "-o", "name"
        ).split()
    )


def last_backup(seed: KubeClient, project: str, name: str) -> dict[str, Any]:
    shoot = seed.get(SHOOT_API_VERSION, "Shoot", name, naming.project_namespace(project))
    return dict((shoot.get("status") or {}).get("lastBackup") or {})


def backup_then_restore(
    seed: KubeClient, dags: dict[str, Any], project: str, name: str, tmp: Path
) -> None:
    kubeconfig = shoot_kubeconfig(seed, project, name, tmp)
    bulk_configmaps(kubeconfig)
    assert count_configmaps(kubeconfig) == COUNT
    before = last_backup(seed, project, name)

    assert run(dags, "garden_backup", only=[f"{project}/{name}"]) == "success"
    backup = last_backup(seed, project, name)
    assert backup["verified"] is True
    assert backup["snapshot"] != before.get("snapshot")

    kubectl(kubeconfig, "delete", "configmaps", "-n", "bulk", "-l", "bulk=yes", "--wait=true")
    assert count_configmaps(kubeconfig) == 0

    assert (
        run(dags, "garden_restore", project=project, name=name, confirm=f"{project}/{name}")
        == "success"
    )
    assert count_configmaps(kubeconfig) == COUNT
    assert kubectl(kubeconfig, "get", "--raw", "/readyz").strip() == "ok"
    shoot = seed.get(SHOOT_API_VERSION, "Shoot", name, naming.project_namespace(project))
    assert shoot["status"]["lastOperation"]["type"] == "Restore"
    assert shoot["status"]["lastOperation"]["state"] == "Succeeded"


def test_local_store_round_trip(
    seed: KubeClient, bundled: dict[str, Any], tmp_path: Path, shoot_cleanup: list[tuple[str, str]]
) -> None:
    project, name = "bk-local", "db"
    shoot_cleanup.append((project, name))
    assert run(bundled, "garden_provision", project=project, name=name) == "success"
    assert last_backup(seed, project, name)["verified"] is True  # the provisioning's first backup
    backup_then_restore(seed, bundled, project, name, tmp_path)


@pytest.fixture(scope="module")
def s3_for_pods(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    # On the seed's own bridge address: reachable from pods, never leaves this machine.
    server = start(tmp_path_factory.mktemp("s3-pods"), host=NODE_IP)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def s3_shoots(seed: KubeClient, s3_for_pods: S3Server) -> Iterator[list[tuple[str, str]]]:
    """Shoots on the S3 store: deleted, kept snapshots dropped, while the store still runs
    (the module's `shoot_cleanup` ends after `s3_for_pods` has stopped it)."""
    created: list[tuple[str, str]] = []
    yield created
    for project, name in created:
        delete_shoot(seed, project, name)


def test_s3_store_round_trip(
    seed: KubeClient,
    bundled: dict[str, Any],
    s3_for_pods: S3Server,
    tmp_path: Path,
    s3_shoots: list[tuple[str, str]],
) -> None:
    project, name = "bk-s3", "db"
    s3_shoots.append((project, name))
    bucket = f"etcd-{uuid.uuid4().hex[:8]}"
    s3_for_pods.client().create_bucket(Bucket=bucket)
    secret_dir = s3_for_pods.write_secret_dir(tmp_path / "creds")
    data = {f.name: base64.b64encode(f.read_bytes().strip()).decode() for f in secret_dir.iterdir()}
    project_ns = naming.project_namespace(project)
    seed.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": project_ns}})
    seed.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s3", "namespace": project_ns},
            "data": data,
        }
    )
    backup = {
        "store": {
            "kind": "s3",
            "bucket": bucket,
            "prefix": "bk-s3/db",
            "secretRef": {"name": "s3"},
        },
        "retention": {"policy": "LimitBased", "maxBackups": 3},
    }
    assert run(bundled, "garden_provision", project=project, name=name, backup=backup) == "success"
    keys = [
        o["Key"] for o in s3_for_pods.client().list_objects_v2(Bucket=bucket).get("Contents", [])
    ]
    assert any(k.startswith("bk-s3/db/Backup-") and k.endswith(".gz") for k in keys)
    backup_then_restore(seed, bundled, project, name, tmp_path)


def test_corrupted_snapshot_is_never_restored(
    seed: KubeClient, bundled: dict[str, Any], seed_kubeconfig: Path
) -> None:
    project, name = "bk-local", "db"
    if seed.find(SHOOT_API_VERSION, "Shoot", name, naming.project_namespace(project)) is None:
        assert run(bundled, "garden_provision", project=project, name=name) == "success"
    snapshot = last_backup(seed, project, name)["snapshot"]
    claim = seed.get(
        "v1",
        "PersistentVolumeClaim",
        BACKUP_VOLUME_CLAIM,
        naming.controlplane_namespace(project, name),
    )
    volume = seed.get("v1", "PersistentVolume", claim["spec"]["volumeName"])
    root = Path((volume["spec"].get("hostPath") or volume["spec"]["local"])["path"])
    stored = next(root.rglob(Path(snapshot).name))
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte changed: only the sha256 can tell
    stored.write_bytes(bytes(data))

    state = run(
        bundled,
        "garden_restore",
        project=project,
        name=name,
        snapshot=snapshot,
        confirm=f"{project}/{name}",
    )
    assert state == "failed"
    manifest = json.loads(stored.with_name(stored.name + ".manifest.json").read_text())
    assert manifest["verified"] is False  # now listed as not good
    # the shoot was never stopped: verification comes before anything else
    cp_ns = naming.controlplane_namespace(project, name)
    assert seed.get("apps/v1", "StatefulSet", "etcd", cp_ns)["spec"]["replicas"] == 1
    assert seed.get("apps/v1", "Deployment", "kube-apiserver", cp_ns)["spec"]["replicas"] == 1
