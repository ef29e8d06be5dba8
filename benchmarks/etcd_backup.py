"""etcd backup and restore of a shoot whose etcd holds over 100 MB.

Ours: EtcdBackupOperator through `garden_backup` (`dag.test()`): a pod snapshots,
checks (`etcdutl snapshot status`), compresses, stores on the shoot's backup volume
and re-reads the stored object for its sha256. Baseline: plain `etcdctl snapshot
save` to local disk inside the same etcd's pod, in the same run. Then the restore
through `garden_restore`, and the compressed size beside the database size.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from airflow.dag_processing.dagbag import DagBag

from airflow_provider_garden.agent.shoot_delete import delete
from airflow_provider_garden.core import naming
from airflow_provider_garden.core.settings import DEFAULT_NAMESPACE
from airflow_provider_garden.kube.bootstrap import install
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.kube.shoots import Shoots
from airflow_provider_garden.localseed.profile import local_profile
from airflow_provider_garden.localseed.seed import LocalSeed
from benchmarks.seed_kubectl import kubectl as seed_kubectl
from benchmarks.table import Table

PROJECT, NAME = "bench-etcd", "big"
DAGS = Path(__file__).resolve().parents[1] / "dags"
MB = 10**6
TARGET_MB = 110


def _fill(kubeconfig: Path) -> None:
    """~900 kB ConfigMaps of random text until etcd holds TARGET_MB (random: gzip can't cheat)."""
    subprocess.run(
        [seed_kubectl(), "--kubeconfig", str(kubeconfig), "create", "namespace", "fill"],
        capture_output=True,
    )
    blob = os.urandom(450_000).hex()
    for i in range(TARGET_MB * MB // 900_000 + 1):
        cm = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"fill-{i:04d}", "namespace": "fill"},
            "data": {"blob": blob[i % 7 :] + blob[: i % 7]},
        }
        subprocess.run(
            [seed_kubectl(), "--kubeconfig", str(kubeconfig), "create", "-f", "-"],
            input=json.dumps(cm),
            capture_output=True,
            text=True,
            check=True,
        )


def _raw_snapshot_seconds(seed_kubeconfig: Path) -> tuple[float, int]:
    ns = naming.controlplane_namespace(PROJECT, NAME)
    tls = "/etc/etcd/tls"
    cmd = [
        seed_kubectl(), "--kubeconfig", str(seed_kubeconfig), "-n", ns, "exec", "etcd-0", "--", "sh", "-c",
        f"rm -f /var/lib/etcd/raw.db && etcdctl --endpoints=https://127.0.0.1:2379 --cacert={tls}/ca.crt "
        f"--cert={tls}/tls.crt --key={tls}/tls.key snapshot save /var/lib/etcd/raw.db >/dev/null "
        "&& stat -c %s /var/lib/etcd/raw.db && rm -f /var/lib/etcd/raw.db",
    ]  # fmt: skip
    start = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return time.monotonic() - start, int(out.stdout.strip().splitlines()[-1])


def _last_backup(kube: KubeClient) -> dict[str, Any]:
    shoot = kube.get(SHOOT_API_VERSION, "Shoot", NAME, naming.project_namespace(PROJECT))
    return dict(shoot["status"]["lastBackup"])


def run() -> list[Table]:
    seed_kubeconfig = LocalSeed().up()
    os.environ["AIRFLOW_CONN_KUBERNETES_DEFAULT"] = json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": str(seed_kubeconfig)}}
    )
    kube = KubeClient.from_kubeconfig(str(seed_kubeconfig))
    install(kube, namespace=DEFAULT_NAMESPACE, profile=local_profile())
    dags = DagBag(dag_folder=str(DAGS)).dags
    assert (
        dags["garden_provision"].test(run_conf={"project": PROJECT, "name": NAME}).state
        == "success"
    )
    try:
        secret = kube.get(
            "v1", "Secret", naming.kubeconfig_secret(NAME), naming.project_namespace(PROJECT)
        )
        shoot_kubeconfig = Path("/tmp/bench-etcd.kubeconfig")
        shoot_kubeconfig.write_bytes(base64.b64decode(secret["data"]["kubeconfig-external"]))
        _fill(shoot_kubeconfig)

        raw_seconds, db_bytes = _raw_snapshot_seconds(seed_kubeconfig)
        start = time.monotonic()
        assert (
            dags["garden_backup"].test(run_conf={"only": [f"{PROJECT}/{NAME}"]}).state == "success"
        )
        ours = time.monotonic() - start
        backup = _last_backup(kube)
        start = time.monotonic()
        restored = dags["garden_restore"].test(
            run_conf={"project": PROJECT, "name": NAME, "confirm": f"{PROJECT}/{NAME}"}
        )
        assert restored.state == "success"
        restore_seconds = time.monotonic() - start
    finally:
        delete(kube, Shoots(kube), PROJECT, NAME, holder="bench")

    db_mb = db_bytes / MB
    speed = Table(title=f"etcd backup of a {db_mb:.0f} MB database: throughput", unit="MB/s")
    speed.add(
        "snapshot + verify + gzip + store + re-read (EtcdBackupOperator task)",
        db_mb / ours,
        db_mb / raw_seconds,
    )
    speed.notes.append(
        f"ours {ours:.1f} s for the whole task (pod start included); raw `etcdctl snapshot save` "
        f"to local disk in the etcd pod {raw_seconds:.1f} s"
    )
    size = Table(title="etcd backup: stored size", unit="MB")
    size.add("gzip-compressed snapshot vs database", backup["size"] / MB, db_mb)
    restore = Table(
        title="etcd restore (garden_restore: verify, stop, restore, swap, start, healthy)", unit="s"
    )
    restore.add(f"restore of the {db_mb:.0f} MB snapshot", restore_seconds)
    return [speed, size, restore]
