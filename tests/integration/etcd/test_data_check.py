"""etcd does not start on lost data; with autoRestore the data come back by themselves.

One shoot (dc/db, local store) with COUNT bulk ConfigMaps, backed up. Its etcd data
directory is emptied on the seed's disk while etcd is stopped, then etcd is started
again: the data check in the etcd pod (given the Shoot's UID) refuses, naming this
shoot's newest good snapshot, not a newer one of another UID planted beside it, etcd never becomes ready, care writes
ControlPlaneHealthy False with ERR_ETCD_DATA_LOST, and the next reconcile ends Failed with
that code. Setting spec.backup.autoRestore makes
that reconcile bring etcd back from the newest good snapshot (every ConfigMap); after
that, emptying the directory again needs nobody: etcd restores on its own restart.
The tests run in order on the module's shoot.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from airflow.dag_processing.dagbag import DagBag
from test_backup_restore import (
    COUNT,
    DAGS,
    bulk_configmaps,
    count_configmaps,
    kubectl,
    last_backup,
    run,
    shoot_kubeconfig,
)

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.controlplane.manifests import (
    BACKUP_VOLUME_CLAIM,
    ETCD_VOLUME_CLAIM,
)
from airflow_provider_garden.core.etcd_data_check import (
    INIT_CONTAINER,
    RESTORED_FROM_FILE,
    pod_refusal,
)
from airflow_provider_garden.core.retention import snapshot_name
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.kube.workload import statefulset_ready
from airflow_provider_garden.snapstore.local import LocalStore
from airflow_provider_garden.snapstore.manifest import (
    Manifest,
    manifest_key,
    read_manifest,
    write_manifest,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("airflow_seed_connection")]
PROJECT, NAME = "dc", "db"
CP_NS = naming.controlplane_namespace(PROJECT, NAME)
LOCAL = {"store": {"kind": "local"}, "retention": {"policy": "Exponential"}}
# A deleted shoot of the same name: its kept snapshots share this shoot's prefix.
FOREIGN_UID = "ffffffff-0000-4000-8000-0000000000dc"
T = TypeVar("T")


@pytest.fixture(scope="module")
def bundled() -> dict[str, Any]:
    return DagBag(dag_folder=str(DAGS)).dags


@pytest.fixture(scope="module")
def shoot(
    seed: KubeClient,
    bundled: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
    shoot_cleanup: list[tuple[str, str]],
) -> Path:
    """The module's shoot with COUNT bulk ConfigMaps in its newest good snapshot."""
    shoot_cleanup.append((PROJECT, NAME))
    assert run(bundled, "garden_provision", project=PROJECT, name=NAME, backup=LOCAL) == "success"
    kubeconfig = shoot_kubeconfig(seed, PROJECT, NAME, tmp_path_factory.mktemp("dc"))
    bulk_configmaps(kubeconfig)
    assert run(bundled, "garden_backup", only=[f"{PROJECT}/{NAME}"]) == "success"
    return kubeconfig


def until(check: Callable[[], T | None], *, what: str, timeout: float = 300) -> T:
    """Poll ``check`` until it returns a value; fail naming what was not seen."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not seen within {timeout:.0f}s: {what}")
        time.sleep(2)


def volume_root(seed: KubeClient, claim_name: str = ETCD_VOLUME_CLAIM) -> Path:
    """The shoot's etcd volume (or another claim's) on the seed's disk."""
    claim = seed.get("v1", "PersistentVolumeClaim", claim_name, CP_NS)
    volume = seed.get("v1", "PersistentVolume", claim["spec"]["volumeName"])
    return Path((volume["spec"].get("hostPath") or volume["spec"]["local"])["path"])


def data_check_command(seed: KubeClient) -> list[str]:
    sts = seed.get("apps/v1", "StatefulSet", "etcd", CP_NS)
    (check,) = sts["spec"]["template"]["spec"]["initContainers"]
    assert check["name"] == INIT_CONTAINER
    return list(check["command"])


def arg(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def plant_foreign_newer(seed: KubeClient, own_key: str) -> tuple[LocalStore, str]:
    """A good snapshot of FOREIGN_UID, newer and at a higher revision than ``own_key``,
    in this shoot's store (the bytes of ``own_key``, so it verifies)."""
    store = LocalStore(
        root=volume_root(seed, BACKUP_VOLUME_CLAIM),
        prefix=arg(data_check_command(seed), "--prefix"),
    )
    own = read_manifest(store, own_key)
    created = own.created + dt.timedelta(minutes=1)
    key = snapshot_name(0, own.end_revision + 1000, created, own_key.endswith(".gz"))
    with store.fetch(own_key) as stream:
        store.save(key, stream)
    foreign = Manifest.for_snapshot(
        key, size=own.size, sha256=own.sha256, etcd_version=own.etcd_version, shoot_uid=FOREIGN_UID
    )
    write_manifest(store, dataclasses.replace(foreign, verified=True))
    return store, key


def etcd_pods(seed: KubeClient) -> list[dict[str, Any]]:
    return seed.list("v1", "Pod", CP_NS, label_selector="app=etcd")


def empty_data_and_restart(seed: KubeClient) -> None:
    """Stop etcd, empty its data directory on the seed's disk, start etcd again."""
    scale = {"spec": {"replicas": 0}}
    seed.merge_patch("apps/v1", "StatefulSet", "etcd", scale, CP_NS)
    until(lambda: True if not etcd_pods(seed) else None, what="etcd stopped")
    data = volume_root(seed) / "data"
    entries = list(data.iterdir())
    assert any(e.name == "member" for e in entries), entries  # there was data to lose
    for entry in entries:
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    assert list(data.iterdir()) == []
    seed.merge_patch("apps/v1", "StatefulSet", "etcd", {"spec": {"replicas": 1}}, CP_NS)


def refusal(seed: KubeClient) -> str | None:
    return next((r for r in map(pod_refusal, etcd_pods(seed)) if r), None)


def shoot_status(seed: KubeClient) -> dict[str, Any]:
    shoot = seed.get(SHOOT_API_VERSION, "Shoot", NAME, naming.project_namespace(PROJECT))
    return dict(shoot.get("status") or {})


def test_lost_data_keeps_etcd_down_and_the_shoot_reports_it(
    seed: KubeClient, bundled: dict[str, Any], shoot: Path
) -> None:
    snapshot = last_backup(seed, PROJECT, NAME)["snapshot"]
    uid = seed.get(SHOOT_API_VERSION, "Shoot", NAME, naming.project_namespace(PROJECT))["metadata"][
        "uid"
    ]
    assert arg(data_check_command(seed), "--shoot-uid") == uid
    store, foreign = plant_foreign_newer(seed, snapshot)
    try:
        empty_data_and_restart(seed)
        reason = until(lambda: refusal(seed), what="the etcd pod's data check refusing")
    finally:
        store.delete(foreign)
        store.delete(manifest_key(foreign))
    assert "has no database" in reason
    assert snapshot in reason  # this shoot's newest good backup is named ...
    assert foreign not in reason  # ... not the newer one of another shoot UID
    assert not statefulset_ready(seed, CP_NS, "etcd")

    # care observes it (no operation needed) ...
    care = bundled["garden_care"].test(run_conf={"project": PROJECT, "parallelism": 1})
    assert care.state == "success"
    observed = {c["type"]: c for c in shoot_status(seed).get("conditions") or []}
    healthy = observed["ControlPlaneHealthy"]
    assert healthy["reason"] == "EtcdDataLost", healthy
    assert healthy.get("codes") == ["ERR_ETCD_DATA_LOST"], healthy
    # ... and a reconcile ends at once, Failed, with the code
    assert run(bundled, "garden_provision", project=PROJECT, name=NAME, backup=LOCAL) == "failed"
    status = shoot_status(seed)
    codes = [code for e in status.get("lastErrors") or [] for code in e.get("codes") or []]
    assert "ERR_ETCD_DATA_LOST" in codes, status.get("lastErrors")
    assert status["lastOperation"]["state"] == "Failed"  # a retry cannot bring data back
    assert not statefulset_ready(seed, CP_NS, "etcd")
    assert list((volume_root(seed) / "data").iterdir()) == []  # nothing started on it
    assert last_backup(seed, PROJECT, NAME)["snapshot"] == snapshot  # no empty backup


def test_auto_restore_brings_the_data_back(
    seed: KubeClient, bundled: dict[str, Any], shoot: Path
) -> None:
    snapshot = last_backup(seed, PROJECT, NAME)["snapshot"]
    auto = {**LOCAL, "autoRestore": True}
    # The pod refused under the old template is replaced by reconcile, and restores.
    assert run(bundled, "garden_provision", project=PROJECT, name=NAME, backup=auto) == "success"
    assert count_configmaps(shoot) == COUNT
    record = json.loads((volume_root(seed) / "data" / RESTORED_FROM_FILE).read_text())
    assert record["snapshot"] == snapshot

    # From now on nobody has to act: etcd restores on its own restart.
    empty_data_and_restart(seed)
    until(
        lambda: True if statefulset_ready(seed, CP_NS, "etcd") else None,
        what="etcd ready after restoring by itself",
    )
    until(
        lambda: True if _readyz(shoot) else None,
        what="the shoot's kube-apiserver serving again",
        timeout=420,  # it may sit in a crash-loop backoff from the first outage
    )
    assert count_configmaps(shoot) == COUNT
    assert refusal(seed) is None
    names = sorted(p.name for p in volume_root(seed).iterdir() if p.name != "lost+found")
    assert names == ["data"], names  # the emptied directory was not kept, no part left


def _readyz(kubeconfig: Path) -> bool:
    try:
        return kubectl(kubeconfig, "get", "--raw", "/readyz").strip() == "ok"
    except AssertionError:
        return False
