"""A restore killed at any phase is settled by the next one; SIGTERM rolls it back in time.

Has a shoot of its own (rj/db, with COUNT bulk ConfigMaps, backed up once: every case
restores that snapshot; after test_backup_restore's restores of bk-local/db, a full run
once saw the killed restore's pod fail before its journal opened, and the same case passed
on a fresh shoot: under investigation). The restore pod is ended at each phase of the
journal, and between the swap's two renames, by the agent's test-only fault point
(GARDEN_TEST_RESTORE_EXIT_AT: the process exits at once there, as under SIGKILL).
Afterwards the journal is open at that phase, reconcile refuses to start the control
plane naming it (and leaves etcd and kube-apiserver as the kill left them), and the next
restore try leaves the shoot serving exactly the snapshot's data: COUNT of COUNT bulk
ConfigMaps, never an empty cluster, and nothing but `data` on the etcd volume.

A restore pod deleted while it waits at RestoredToPart (GARDEN_TEST_RESTORE_PAUSE_AT)
gets SIGTERM: it rolls back within its grace period (the journal closed RolledBack, which
a SIGKILL at the period's end would have left open), and the next reconcile serves the
data from before the restore.

A killed pod's Lease is released by the test, as its expiry would release it 40 s later
(that expiry is judged in tests/integration/lease): the next operation starts at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
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
from airflow_provider_garden.agent.etcd_restore import BETWEEN_RENAMES, EXIT_AT_ENV, PAUSE_AT_ENV
from airflow_provider_garden.core import naming
from airflow_provider_garden.core.controlplane.manifests import ETCD_VOLUME_CLAIM
from airflow_provider_garden.core.restore_journal import ORDER, Phase, RestoreJournal
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
CONFIRM = f"{PROJECT}/{NAME}"
MARKER = "written-after-the-snapshot"
# What the shoot serves in namespace bulk: ConfigMap name -> its `i`.
SNAPSHOT_DATA = {f"cm-{i:04d}": str(i) for i in range(COUNT)}
BEFORE_RESTORE = {**SNAPSHOT_DATA, MARKER: ""}


@pytest.fixture(scope="module")
def bundled() -> dict[str, Any]:
    return DagBag(dag_folder=str(DAGS)).dags


@pytest.fixture(scope="module")
def kubeconfig(
    seed: KubeClient,
    bundled: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
    shoot_cleanup: list[tuple[str, str]],
) -> Path:
    """The module's shoot with COUNT bulk ConfigMaps (and nothing else in bulk)."""
    shoot_cleanup.append((PROJECT, NAME))
    if seed.find(SHOOT_API_VERSION, "Shoot", NAME, naming.project_namespace(PROJECT)) is None:
        assert run(bundled, "garden_provision", project=PROJECT, name=NAME) == "success"
    path = shoot_kubeconfig(seed, PROJECT, NAME, tmp_path_factory.mktemp("shoot"))
    kubectl(path, "delete", "configmap", MARKER, "-n", "bulk", "--ignore-not-found")
    if count_configmaps(path) != COUNT:
        bulk_configmaps(path)
    return path


@pytest.fixture(scope="module")
def snapshot(seed: KubeClient, bundled: dict[str, Any], kubeconfig: Path) -> str:
    """The snapshot every case restores: the bulk ConfigMaps, no marker."""
    assert run(bundled, "garden_backup", only=[CONFIRM]) == "success"
    return str(last_backup(seed, PROJECT, NAME)["snapshot"])


@pytest.fixture
def shoot(seed: KubeClient, bundled: dict[str, Any], kubeconfig: Path) -> Iterator[Path]:
    """The module's shoot; its kubeconfig.

    Whatever a test leaves open is settled by a plain restore afterwards, so the shoot
    serves again for the next test (and is deleted with the module's shoots)."""
    yield kubeconfig
    journal = JournalStore(seed, CP_NS).read()
    if journal is not None and journal.open:
        release_dead_holders_lease(seed)
        run(bundled, "garden_restore", project=PROJECT, name=NAME, confirm=CONFIRM)
    kubectl(kubeconfig, "delete", "configmap", MARKER, "-n", "bulk", "--ignore-not-found")


def write_marker(kubeconfig: Path) -> None:
    """A ConfigMap the snapshot lacks: present only while the data from before a restore is."""
    marker = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": MARKER}}
    kubectl(kubeconfig, "apply", "-n", "bulk", "-f", "-", stdin=json.dumps(marker))


def assert_serves(kubeconfig: Path, expected: dict[str, str], what: str) -> None:
    """The shoot's API answers and namespace bulk holds exactly ``expected``."""
    assert kubectl(kubeconfig, "get", "--raw", "/readyz").strip() == "ok"
    items = json.loads(kubectl(kubeconfig, "get", "configmaps", "-n", "bulk", "-o", "json"))
    found = {
        cm["metadata"]["name"]: (cm.get("data") or {}).get("i", "")
        for cm in items["items"]
        if cm["metadata"]["name"] != "kube-root-ca.crt"  # published by its controller
    }
    differences = {
        "missing": sorted(set(expected) - set(found)),
        "extra": sorted(set(found) - set(expected)),
        "changed": sorted(k for k in set(expected) & set(found) if found[k] != expected[k]),
    }
    wrong = {why: f"{len(names)} {names[:5]}" for why, names in differences.items() if names}
    assert not wrong, f"not {what} ({len(found)} ConfigMaps): {wrong}"


def etcd_volume(seed: KubeClient) -> list[str]:
    """The directories on the shoot's etcd volume, read on the seed's disk."""
    claim = seed.get("v1", "PersistentVolumeClaim", ETCD_VOLUME_CLAIM, CP_NS)
    volume = seed.get("v1", "PersistentVolume", claim["spec"]["volumeName"])
    root = Path((volume["spec"].get("hostPath") or volume["spec"]["local"])["path"])
    return sorted(p.name for p in root.iterdir() if p.name != "lost+found")


def replicas(seed: KubeClient) -> tuple[int, int]:
    """(etcd, kube-apiserver) replicas asked for in the control plane."""
    etcd = seed.get("apps/v1", "StatefulSet", "etcd", CP_NS)
    apiserver = seed.get("apps/v1", "Deployment", "kube-apiserver", CP_NS)
    return etcd["spec"]["replicas"], apiserver["spec"]["replicas"]


def restore_with(snapshot: str, variable: str, value: str) -> str:
    """garden_restore of ``snapshot`` with a test-only fault point set in its restore pod
    (a fresh DagBag: the module's DAG objects stay as shipped)."""
    dag = DagBag(dag_folder=str(DAGS)).dags["garden_restore"]
    dag.get_task("restore").env_vars = [k8s.V1EnvVar(name=variable, value=value)]
    conf = {"project": PROJECT, "name": NAME, "snapshot": snapshot, "confirm": CONFIRM}
    return str(dag.test(run_conf=conf).state)


def release_dead_holders_lease(seed: KubeClient) -> None:
    """Free the shoot's Lease from a holder whose pod no longer runs (as its expiry would)."""
    namespace, name = naming.project_namespace(PROJECT), naming.operation_lease(NAME)
    holder = seed.get(lease.API_VERSION, "Lease", name, namespace)["spec"].get("holderIdentity")
    if not holder:
        return
    pods = seed.list("v1", "Pod", CP_NS)
    running = [
        p["metadata"]["name"]
        for p in pods
        if (p.get("status") or {}).get("phase") in ("Pending", "Running")
    ]
    assert not [pod for pod in running if holder.startswith(f"{pod}_")], f"{holder} still runs"
    patch = {"spec": {"holderIdentity": None}}
    seed.merge_patch(lease.API_VERSION, "Lease", name, patch, namespace)


@dataclass(frozen=True)
class Kill:
    at: str  # the fault point
    open_at: Phase  # where the journal stays open
    volume: list[str]  # the etcd volume's directories afterwards, timestamps cut
    running: tuple[int, int]  # (etcd, kube-apiserver) replicas afterwards


KILLS = [
    # Verified and fetched: nothing stopped, the shoot still serves its data.
    Kill(Phase.VERIFIED.value, Phase.VERIFIED, ["data"], (1, 1)),
    Kill(Phase.STOPPED.value, Phase.STOPPED, ["data"], (0, 0)),
    Kill(Phase.RESTORED_TO_PART.value, Phase.RESTORED_TO_PART, ["data", "data.part"], (0, 0)),
    # Between the swap's two renames: no `data` at all, only the part and the old data.
    Kill(BETWEEN_RENAMES, Phase.RESTORED_TO_PART, ["data.part", "data.pre-restore-"], (0, 0)),
    Kill(Phase.SWAPPED.value, Phase.SWAPPED, ["data", "data.pre-restore-"], (0, 0)),
    # etcd was scaled up on the restored data, not yet proven: the old data is kept.
    Kill(Phase.STARTED.value, Phase.STARTED, ["data", "data.pre-restore-"], (1, 0)),
    # Proven; kube-apiserver not started yet, the old data not removed yet.
    Kill(Phase.HEALTHY.value, Phase.HEALTHY, ["data", "data.pre-restore-"], (1, 0)),
]


def test_every_phase_of_the_journal_is_killed() -> None:
    assert {k.at for k in KILLS} >= {p.value for p in ORDER}


@pytest.mark.parametrize("kill", KILLS, ids=[k.at for k in KILLS])
def test_killed_restore_is_settled_by_the_next_one(
    seed: KubeClient, bundled: dict[str, Any], shoot: Path, snapshot: str, kill: Kill
) -> None:
    write_marker(shoot)

    assert restore_with(snapshot, EXIT_AT_ENV, kill.at) == "failed"
    journal = JournalStore(seed, CP_NS).read()
    assert journal is not None
    assert (journal.phase, journal.snapshot) == (kill.open_at, snapshot), last_operation(seed)
    found = etcd_volume(seed)
    assert [name.rstrip("0123456789TZ") for name in found] == kill.volume, found
    release_dead_holders_lease(seed)

    # Reconcile must not start etcd or kube-apiserver on whatever `data` is there now.
    assert run(bundled, "garden_provision", project=PROJECT, name=NAME) == "failed"
    status = seed.get(SHOOT_API_VERSION, "Shoot", NAME, naming.project_namespace(PROJECT))["status"]
    assert f"open at phase {kill.open_at}" in json.dumps(status), status.get("lastErrors")
    assert replicas(seed) == kill.running

    state = run(
        bundled, "garden_restore", project=PROJECT, name=NAME, snapshot=snapshot, confirm=CONFIRM
    )
    assert state == "success"
    settled = JournalStore(seed, CP_NS).read()
    assert settled is not None
    assert (settled.phase, settled.snapshot) == (Phase.DONE, snapshot)
    assert etcd_volume(seed) == ["data"]
    # Every ConfigMap of the snapshot (not empty), and not the data from before.
    assert_serves(shoot, SNAPSHOT_DATA, "the snapshot's data")


class PodStopper(threading.Thread):
    """Deletes the restore pod (SIGTERM, then its grace period) once its journal is open at
    ``at``: a thread beside the test, as dag.test() must run in the main thread."""

    def __init__(self, seed: KubeClient, at: Phase) -> None:
        super().__init__(name="pod-stopper", daemon=True)
        self.seed, self.at = seed, at
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.pod: str | None = None
        self.journal: RestoreJournal | None = None

    def run(self) -> None:
        try:
            deadline = time.monotonic() + 300
            while not self.stop.is_set():
                self.journal = JournalStore(self.seed, CP_NS).read()
                pod = restore_pod(self.seed)
                if pod and self.journal and self.journal.open and self.journal.phase is self.at:
                    self.seed.delete("v1", "Pod", pod, CP_NS)  # the pod's own grace period
                    self.pod = pod
                    return
                if time.monotonic() > deadline:
                    raise AssertionError(f"the restore never reached {self.at}: {self.journal}")
                time.sleep(0.5)
        except BaseException as err:
            self.errors.append(err)


def test_sigterm_rolls_a_restore_back_within_the_grace_period(
    seed: KubeClient, bundled: dict[str, Any], shoot: Path, snapshot: str
) -> None:
    """The pod stopped once etcd and kube-apiserver are down and data.part is written."""
    write_marker(shoot)
    at = Phase.RESTORED_TO_PART
    stopper = PodStopper(seed, at)
    stopper.start()
    try:
        state = restore_with(snapshot, PAUSE_AT_ENV, at.value)
    finally:
        stopper.stop.set()
        stopper.join(timeout=60)
    if stopper.errors:
        raise stopper.errors[0]
    assert stopper.pod is not None, f"the restore ended before it was stopped: {stopper.journal}"
    assert state == "failed"
    journal = JournalStore(seed, CP_NS).read()
    assert journal is not None
    assert (journal.phase, journal.message) == (Phase.ROLLED_BACK, f"stopped at {at}"), journal
    assert etcd_volume(seed) == ["data"]
    stopped = last_operation(seed)  # reported by the pod on its way out
    assert (stopped.type, stopped.state) == (OperationType.RESTORE, OperationState.ERROR)
    assert "Interrupted" in stopped.description, stopped

    assert run(bundled, "garden_provision", project=PROJECT, name=NAME) == "success"
    assert_serves(shoot, BEFORE_RESTORE, "the data from before the restore")


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
