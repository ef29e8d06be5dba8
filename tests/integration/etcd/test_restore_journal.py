"""A restore killed at a phase is settled by the next restore; reconcile waits for it.

Has a shoot of its own (rj/db, with COUNT bulk ConfigMaps): after test_backup_restore's
restores of bk-local/db, a full run once saw the killed restore's pod fail before its journal
opened, and the same case passed on a fresh shoot (under investigation). The restore pod
is ended at a phase by the agent's test-only fault point (GARDEN_TEST_RESTORE_EXIT_AT:
the process exits at once there, as under SIGKILL). Afterwards the journal is open at
that phase, reconcile refuses to start the control plane naming it, and the next
restore leaves the shoot serving the snapshot: every bulk ConfigMap, never an empty
cluster, and nothing but `data` on the etcd volume.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from kubernetes import client
from kubernetes.client import models as k8s
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

from airflow_provider_garden.agent.etcd_journal import JournalStore
from airflow_provider_garden.agent.etcd_restore import BETWEEN_RENAMES, EXIT_AT_ENV
from airflow_provider_garden.core import naming
from airflow_provider_garden.core.controlplane.manifests import ETCD_VOLUME_CLAIM
from airflow_provider_garden.core.restore_journal import Phase
from airflow_provider_garden.kube import lease
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("airflow_seed_connection")]
PROJECT, NAME = "rj", "db"
CP_NS = naming.controlplane_namespace(PROJECT, NAME)
MARKER = "written-after-the-snapshot"


@pytest.fixture(scope="module")
def bundled() -> dict[str, Any]:
    return DagBag(dag_folder=str(DAGS)).dags


@pytest.fixture
def shoot(
    seed: KubeClient,
    bundled: dict[str, Any],
    tmp_path: Path,
    shoot_cleanup: list[tuple[str, str]],
) -> Iterator[Path]:
    """The module's shoot with COUNT bulk ConfigMaps, backed up just now; its kubeconfig.

    Whatever a test leaves open is settled by a plain restore afterwards, so the shoot
    serves again for the next test (and is deleted with the module's shoots)."""
    if (PROJECT, NAME) not in shoot_cleanup:  # one delete per module, not one per test
        shoot_cleanup.append((PROJECT, NAME))
    if seed.find(SHOOT_API_VERSION, "Shoot", NAME, naming.project_namespace(PROJECT)) is None:
        assert run(bundled, "garden_provision", project=PROJECT, name=NAME) == "success"
    kubeconfig = shoot_kubeconfig(seed, PROJECT, NAME, tmp_path)
    if count_configmaps(kubeconfig) != COUNT:
        bulk_configmaps(kubeconfig)
    yield kubeconfig
    journal = JournalStore(seed, CP_NS).read()
    if journal is not None and journal.open:
        run(bundled, "garden_restore", project=PROJECT, name=NAME, confirm=f"{PROJECT}/{NAME}")
    kubectl(kubeconfig, "delete", "configmap", MARKER, "-n", "bulk", "--ignore-not-found")


def etcd_volume(seed: KubeClient) -> list[str]:
    """The directories on the shoot's etcd volume, read on the seed's disk."""
    claim = seed.get("v1", "PersistentVolumeClaim", ETCD_VOLUME_CLAIM, CP_NS)
    volume = seed.get("v1", "PersistentVolume", claim["spec"]["volumeName"])
    root = Path((volume["spec"].get("hostPath") or volume["spec"]["local"])["path"])
    return sorted(p.name for p in root.iterdir() if p.name != "lost+found")


def killed_restore(snapshot: str, exit_at: str) -> str:
    """garden_restore with its restore pod ended at ``exit_at`` (a fresh DagBag: the
    module's DAG objects stay as shipped)."""
    dag = DagBag(dag_folder=str(DAGS)).dags["garden_restore"]
    dag.get_task("restore").env_vars = [k8s.V1EnvVar(name=EXIT_AT_ENV, value=exit_at)]
    state = dag.test(
        run_conf={
            "project": PROJECT,
            "name": NAME,
            "snapshot": snapshot,
            "confirm": f"{PROJECT}/{NAME}",
        }
    ).state
    return str(state)


@pytest.mark.parametrize(
    ("exit_at", "open_at", "volume_after_kill"),
    [
        # Between the swap's two renames: no `data` at all, only the part and the old data.
        (BETWEEN_RENAMES, Phase.RESTORED_TO_PART, ["data.part", "data.pre-restore-"]),
        # etcd was scaled up on the restored data, not yet proven: the old data is kept.
        (Phase.STARTED.value, Phase.STARTED, ["data", "data.pre-restore-"]),
    ],
)
def test_killed_restore_is_settled_by_the_next_one(
    seed: KubeClient,
    bundled: dict[str, Any],
    shoot: Path,
    exit_at: str,
    open_at: Phase,
    volume_after_kill: list[str],
) -> None:
    assert run(bundled, "garden_backup", only=[f"{PROJECT}/{NAME}"]) == "success"
    snapshot = last_backup(seed, PROJECT, NAME)["snapshot"]
    marker = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": MARKER}}
    kubectl(shoot, "apply", "-n", "bulk", "-f", "-", stdin=json.dumps(marker))

    assert killed_restore(snapshot, exit_at) == "failed"
    journal = JournalStore(seed, CP_NS).read()
    assert journal is not None
    assert (journal.phase, journal.snapshot) == (open_at, snapshot)
    found = etcd_volume(seed)
    assert [name.rstrip("0123456789TZ") for name in found] == volume_after_kill, found

    # Reconcile must not start etcd on whatever `data` is (or is not) there now.
    assert run(bundled, "garden_provision", project=PROJECT, name=NAME) == "failed"
    status = seed.get(SHOOT_API_VERSION, "Shoot", NAME, naming.project_namespace(PROJECT))["status"]
    assert f"open at phase {open_at}" in json.dumps(status), status.get("lastErrors")
    if open_at is Phase.RESTORED_TO_PART:
        assert seed.get("apps/v1", "StatefulSet", "etcd", CP_NS)["spec"]["replicas"] == 0

    state = run(bundled, "garden_restore", project=PROJECT, name=NAME, confirm=f"{PROJECT}/{NAME}")
    assert state == "success"
    settled = JournalStore(seed, CP_NS).read()
    assert settled is not None
    assert settled.phase is Phase.DONE
    assert etcd_volume(seed) == ["data"]
    assert kubectl(shoot, "get", "--raw", "/readyz").strip() == "ok"
    assert count_configmaps(shoot) == COUNT  # every ConfigMap of the snapshot, not empty
    names = kubectl(shoot, "get", "configmaps", "-n", "bulk", "-o", "name").split()
    assert f"configmap/{MARKER}" not in names  # the snapshot's data, not the data before


def restore_pod(seed: KubeClient) -> str | None:
    pods = seed.list("v1", "Pod", CP_NS, label_selector="task_id=restore")
    running = [p for p in pods if (p.get("status") or {}).get("phase") == "Running"]
    return running[0]["metadata"]["name"] if running else None


def test_the_restore_pod_holds_the_shoots_lease_itself(
    seed: KubeClient, bundled: dict[str, Any], shoot: Path, kube_api: client.ApiClient
) -> None:
    """The restore waits in its pod while another operation holds the Lease, then holds
    it itself (renewing it) until it is done: the Airflow worker holds nothing."""
    project_ns, name = naming.project_namespace(PROJECT), naming.operation_lease(NAME)
    journal_before = JournalStore(seed, CP_NS).read()
    outcome: list[str] = []
    restoring = threading.Thread(
        target=lambda: outcome.append(
            run(bundled, "garden_restore", project=PROJECT, name=NAME, confirm=f"{PROJECT}/{NAME}")
        )
    )
    lost: list[str] = []
    with lease.held(
        seed, namespace=project_ns, name=name, holder="restore-lock-test", on_lost=lost.append
    ):
        restoring.start()
        pod, waited, deadline = None, "", time.monotonic() + 300
        while "waiting for the shoot's operation lease" not in waited:
            assert restoring.is_alive(), (
                f"the restore ended while the test held the Lease: {outcome}"
            )
            assert time.monotonic() < deadline, f"the restore pod never waited: {pod}: {waited}"
            time.sleep(1)
            pod = pod or restore_pod(seed)
            if pod:
                waited = client.CoreV1Api(kube_api).read_namespaced_pod_log(pod, CP_NS)
        assert JournalStore(seed, CP_NS).read() == journal_before, "it restored without the Lease"
    assert not lost, lost
    holders: dict[str, set[str]] = {}  # holder -> the renewTimes seen
    while restoring.is_alive():  # every look must succeed: a failed one is not a sample
        spec = seed.get("coordination.k8s.io/v1", "Lease", name, project_ns)["spec"]
        if spec.get("holderIdentity"):
            holders.setdefault(spec["holderIdentity"], set()).add(spec.get("renewTime", ""))
        time.sleep(0.5)
    restoring.join()
    assert outcome == ["success"]
    assert pod is not None
    ours = {h: r for h, r in holders.items() if h.startswith(f"{pod}_")}
    assert ours, f"the restore pod {pod} never held the Lease; holders seen: {sorted(holders)}"
    assert set(holders) == set(ours), f"others held it during the restore: {sorted(holders)}"
    assert max(len(r) for r in ours.values()) >= 2, "the pod never renewed the Lease"
    finished = JournalStore(seed, CP_NS).read()
    assert finished is not None
    assert finished.phase is Phase.DONE
