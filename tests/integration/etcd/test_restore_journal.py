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
from airflow_provider_garden.core.status import (
    LastOperation,
    OperationState,
    OperationType,
    ShootStatus,
)
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


class LeaseBlocker(threading.Thread):
    """Holds the shoot's Lease until the restore pod says it waits for it, notes what the
    shoot looked like meanwhile, releases it, then samples the Lease until ``stop``.

    A thread beside the test: dag.test() must run in the main thread (it sets signal
    handlers). Every error (a failed sample too) is kept for the test to raise."""

    def __init__(self, seed: KubeClient, kube_api: client.ApiClient) -> None:
        super().__init__(name="lease-blocker", daemon=True)
        self.seed, self.kube_api = seed, kube_api
        self.namespace, self.lease = naming.project_namespace(PROJECT), naming.operation_lease(NAME)
        self.holding, self.stop = threading.Event(), threading.Event()
        self.errors: list[BaseException] = []
        self.lost: list[str] = []
        self.pod: str | None = None
        self.journal_while_waiting: Any = None
        self.operation_while_waiting: LastOperation | None = None
        self.holders: dict[str, set[str]] = {}  # holder -> the renewTimes seen

    def run(self) -> None:
        try:
            self._block()
            while not self.stop.is_set():
                spec = self.seed.get("coordination.k8s.io/v1", "Lease", self.lease, self.namespace)
                holder = spec["spec"].get("holderIdentity")
                if holder:
                    self.holders.setdefault(holder, set()).add(spec["spec"].get("renewTime", ""))
                time.sleep(0.5)
        except BaseException as err:
            self.errors.append(err)
            self.holding.set()

    def _block(self) -> None:
        with lease.held(
            self.seed,
            namespace=self.namespace,
            name=self.lease,
            holder="restore-lock-test",
            on_lost=self.lost.append,
        ):
            self.holding.set()
            waited, deadline = "", time.monotonic() + 300
            while "waiting for the shoot's operation lease" not in waited:
                if self.stop.is_set():
                    raise AssertionError("the restore ended while the test held the Lease")
                if time.monotonic() > deadline:
                    raise AssertionError(f"the restore pod never waited: {self.pod}: {waited}")
                time.sleep(1)
                self.pod = self.pod or restore_pod(self.seed)
                if self.pod:
                    core = client.CoreV1Api(self.kube_api)
                    waited = core.read_namespaced_pod_log(self.pod, CP_NS)
            self.journal_while_waiting = JournalStore(self.seed, CP_NS).read()
            self.operation_while_waiting = last_operation(self.seed)


def test_the_restore_pod_holds_the_shoots_lease_itself(
    seed: KubeClient, bundled: dict[str, Any], shoot: Path, kube_api: client.ApiClient
) -> None:
    """The restore waits in its pod while another operation holds the Lease, then holds
    it itself (renewing it) and reports until it is done: the Airflow worker holds
    nothing, and reports nothing while the pod waits."""
    journal_before = JournalStore(seed, CP_NS).read()
    blocker = LeaseBlocker(seed, kube_api)
    blocker.start()
    assert blocker.holding.wait(timeout=60), "the test never took the Lease"
    try:
        state = run(
            bundled, "garden_restore", project=PROJECT, name=NAME, confirm=f"{PROJECT}/{NAME}"
        )
    finally:
        blocker.stop.set()
        blocker.join(timeout=60)
    if blocker.errors:
        raise blocker.errors[0]
    assert not blocker.lost, blocker.lost
    assert state == "success"
    assert blocker.journal_while_waiting == journal_before, "it restored without the Lease"
    waiting = blocker.operation_while_waiting
    assert waiting is not None
    assert (waiting.type, waiting.state) != (OperationType.RESTORE, OperationState.PROCESSING), (
        "the restore reported itself running before it held the Lease"
    )
    pod, holders = blocker.pod, blocker.holders
    assert pod is not None
    ours = {h: r for h, r in holders.items() if h.startswith(f"{pod}_")}
    assert ours, f"the restore pod {pod} never held the Lease; holders seen: {sorted(holders)}"
    assert set(holders) == set(ours), f"others held it during the restore: {sorted(holders)}"
    assert max(len(r) for r in ours.values()) >= 2, "the pod never renewed the Lease"
    finished = JournalStore(seed, CP_NS).read()
    assert finished is not None
    assert finished.phase is Phase.DONE
    done = last_operation(seed)  # reported by the pod, under the Lease
    assert (done.type, done.state) == (OperationType.RESTORE, OperationState.SUCCEEDED)
    assert done.description.startswith(f"restored {finished.snapshot}"), done
    print(f"restore pod {pod}: {sum(len(r) for r in ours.values())} renewals seen")


def last_operation(seed: KubeClient) -> LastOperation:
    shoot = seed.get(SHOOT_API_VERSION, "Shoot", NAME, naming.project_namespace(PROJECT))
    found = ShootStatus.from_shoot(shoot).last_operation
    assert found is not None
    return found
