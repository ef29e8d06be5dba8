"""`garden-agent etcd restore`: put a verified snapshot back into a shoot's etcd.

Runs in the shoot's control-plane namespace with the etcd volume mounted. Steps
(a core.flow.Graph; each depends on the id its predecessor's add returned): pick and
verify the snapshot, fetch it, stop kube-apiserver and etcd, restore into `data.part`,
swap it in for `data` only when the restore succeeded (the old directory is kept as
`data.old`), start etcd and kube-apiserver again and prove they are healthy.
"""

from __future__ import annotations

import datetime as dt
import gzip
import logging
import shutil
import subprocess
from pathlib import Path
from typing import Any

from airflow_provider_garden.agent.etcd_backup import EtcdEndpoint, snapshot_status
from airflow_provider_garden.core.controlplane.manifests import ETCD_DATA_DIR
from airflow_provider_garden.core.flow import Graph, PermanentError, Retry, TaskID
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.workload import deployment_available, statefulset_ready
from airflow_provider_garden.snapstore.manifest import good_snapshots, verify
from airflow_provider_garden.snapstore.protocol import SnapStore

log = logging.getLogger(__name__)
WAIT = dt.timedelta(minutes=5)


def choose(store: SnapStore, snapshot: str | None) -> str:
    if snapshot:
        return snapshot
    good = good_snapshots(store)
    if not good:
        raise PermanentError("no good snapshot to restore from")
    return good[-1].key


def restore(
    kube: KubeClient,
    store: SnapStore,
    endpoint: EtcdEndpoint,
    *,
    namespace: str,
    data_mount: Path,
    work: Path,
    snapshot: str | None,
) -> dict[str, Any]:
    data_dir = data_mount / Path(ETCD_DATA_DIR).name
    part, old = data_dir.with_name("data.part"), data_dir.with_name("data.old")
    chosen: dict[str, Any] = {}

    def pick_and_verify() -> None:
        name = choose(store, snapshot)
        manifest = verify(store, name)  # the bytes, not only the flag: corrupt means no restore
        chosen.update(name=name, manifest=manifest.to_dict())

    def fetch() -> None:
        db = work / "restore.db"
        with store.fetch(chosen["name"]) as stream, db.open("wb") as out:
            source = gzip.GzipFile(fileobj=stream) if chosen["name"].endswith(".gz") else stream
            shutil.copyfileobj(source, out, length=1 << 20)
        chosen["status"] = snapshot_status(db)
        chosen["db"] = db

    def scale(kind: str, name: str, replicas: int) -> None:
        kube.merge_patch("apps/v1", kind, name, {"spec": {"replicas": replicas}}, namespace)

    def no_pods(app: str) -> None:
        pods = kube.list("v1", "Pod", namespace, label_selector=f"app={app}")
        if pods:
            raise RuntimeError(f"{len(pods)} {app} pod(s) still running")

    def restore_into_part() -> None:
        shutil.rmtree(part, ignore_errors=True)
        out = subprocess.run(
            [
                "etcdutl", "snapshot", "restore", str(chosen["db"]),
                f"--data-dir={part}", "--name=etcd-0",
                "--initial-cluster=etcd-0=http://127.0.0.1:2380",
                "--initial-advertise-peer-urls=http://127.0.0.1:2380",
            ],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if out.returncode != 0:
            shutil.rmtree(part, ignore_errors=True)
            raise PermanentError(f"etcdutl snapshot restore failed: {out.stderr.strip()[-500:]}")

    def swap() -> None:
        shutil.rmtree(old, ignore_errors=True)
        if data_dir.exists():
            data_dir.rename(old)
        part.rename(data_dir)

    def etcd_ready() -> None:
        if not statefulset_ready(kube, namespace, "etcd"):
            raise RuntimeError("etcd is not ready yet")
        out = subprocess.run(endpoint.etcdctl("endpoint", "health"), capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"etcd is not healthy yet: {out.stderr.strip()[-200:]}")

    def apiserver_ready() -> None:
        if not deployment_available(kube, namespace, "kube-apiserver"):
            raise RuntimeError("kube-apiserver is not available yet")

    waits = Retry(timeout=WAIT, interval=dt.timedelta(seconds=1))
    graph = Graph(f"Restore etcd of {namespace}")
    verified = graph.add("Verifying snapshot", pick_and_verify)
    fetched = graph.add("Fetching snapshot", fetch, dependencies=[verified])

    def stop(kind: str, app: str, after: TaskID) -> TaskID:
        """Scale ``app`` to zero, then wait until none of its pods is left."""
        stopping = graph.add(f"Stopping {app}", lambda: scale(kind, app, 0), dependencies=[after])
        return graph.add(
            f"Waiting until {app} is stopped",
            lambda: no_pods(app),
            dependencies=[stopping],
            retry=waits,
        )

    etcd_stopped = stop("StatefulSet", "etcd", after=stop("Deployment", "kube-apiserver", fetched))
    restored = graph.add("Restoring into data.part", restore_into_part, dependencies=[etcd_stopped])
    swapped = graph.add("Swapping data directories", swap, dependencies=[restored])
    etcd_starting = graph.add(
        "Starting etcd", lambda: scale("StatefulSet", "etcd", 1), dependencies=[swapped]
    )
    etcd_healthy = graph.add(
        "Waiting until etcd is healthy", etcd_ready, dependencies=[etcd_starting], retry=waits
    )
    apiserver_starting = graph.add(
        "Starting kube-apiserver",
        lambda: scale("Deployment", "kube-apiserver", 1),
        dependencies=[etcd_healthy],
    )
    graph.add(
        "Waiting until kube-apiserver is available",
        apiserver_ready,
        dependencies=[apiserver_starting],
        retry=waits,
    )
    flow = graph.compile()
    try:
        flow.run()
    except Exception:
        # Never leave the shoot stopped on a failure: etcd keeps whichever data
        # directory it had (the swap is the last step that touches data).
        scale("StatefulSet", "etcd", 1)
        scale("Deployment", "kube-apiserver", 1)
        raise
    return {
        "state": "Restored",
        "snapshot": chosen["name"],
        "revision": int(chosen["status"]["revision"]),
        "keys": int(chosen["status"]["totalKey"]),
        "manifest": chosen["manifest"],
    }
