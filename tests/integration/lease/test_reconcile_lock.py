"""Two reconciles of one shoot never run at once: as agent processes, and as two
garden_provision DagRuns through real Airflow.

First the agent alone: two `garden-agent shoot reconcile` processes on the host
against the seed, the second started while the first holds the shoot's operation
Lease. Then the real path: two `dag.test()` runs of garden_provision for the same
shoot, each in a process of its own (two DagRuns; garden_provision's
max_active_runs=1 is the scheduler's rule, and dag.test() does not apply it), the
second started while the first's reconcile pod holds the Lease. Their logs (the
agents' lines, one host clock for the pods and the processes) say when each held it
and when each flow ran. One shoot serves both tests.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reconcile_pods import acts_on

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.settings import DEFAULT_NAMESPACE
from airflow_provider_garden.kube import lease
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.kube.shoots import Shoots
from airflow_provider_garden.localseed.profile import local_profile

pytestmark = pytest.mark.integration
AGENT = str(Path(sys.executable).with_name("garden-agent"))
PROJECT = "lease"
# The agent's own time stamp, at the start of its line or inside a task log line that
# carries a pod's output.
STAMP = re.compile(r"(?:^|\s)(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (?:INFO|WARNING|ERROR) ")
# etcd_backup's line once a snapshot is stored and re-read: its key.
STORED = re.compile(r"stored (Backup-\S+) \(\d+ bytes, sha256 [0-9a-f]+\), verified")


def reconcile(seed_kubeconfig: Path, name: str, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "KUBERNETES_SERVICE_HOST"}
    argv = [AGENT, f"--kubeconfig={seed_kubeconfig}", f"--garden-namespace={DEFAULT_NAMESPACE}"]
    argv += ["shoot", "reconcile", f"--project={PROJECT}", f"--name={name}"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log.open("wb"), env=env)


def times(log: Path, marker: str) -> list[dt.datetime]:
    """When the pod's log said ``marker``. A pod line the task logged twice counts once:
    the pod log follower can hand over the container's last lines again when it
    reconnects, under a new Airflow prefix; the agent's own stamp and text stay the same."""
    said = {}
    for line in log.read_text().splitlines():
        stamp = STAMP.search(line)
        if stamp and marker in line:
            said[line[stamp.start() :].strip()] = stamp.group(1)
    return [dt.datetime.strptime(s, "%Y-%m-%d %H:%M:%S,%f") for s in said.values()]


@pytest.fixture(scope="module")
def shoot_name(seed: KubeClient, shoot_cleanup: list[tuple[str, str]]) -> str:
    """One Shoot (networking and version as garden_provision's defaults) for the module."""
    name = f"lock-{os.getpid() % 10000}-{int(time.time()) % 100000}"
    seed.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": naming.project_namespace(PROJECT)},
        }
    )
    Shoots(seed).apply(
        {
            "apiVersion": SHOOT_API_VERSION,
            "kind": "Shoot",
            "metadata": {"name": name, "namespace": naming.project_namespace(PROJECT)},
            "spec": {
                "kubernetes": {"version": local_profile().kubernetes_versions[0]},
                "networking": {"pods": "100.96.0.0/11", "services": "100.64.0.0/13"},
            },
        }
    )
    shoot_cleanup.append((PROJECT, name))
    return name


def assert_one_after_the_other(first_log: Path, second_log: Path, shoot: str) -> None:
    first_flow = times(first_log, "flow '")
    second_flow = times(second_log, "flow '")
    assert first_flow, f"the first reconcile ran no flow: {first_log.read_text()[-4000:]}"
    assert second_flow, f"the second reconcile ran no flow: {second_log.read_text()[-4000:]}"
    # The shoot's operation Lease (a ShootCreate pod also takes its project's quota Lease).
    held = f"{naming.project_namespace(PROJECT)}/{naming.operation_lease(shoot)}"
    [first_released] = times(first_log, f"{held} released by")
    [second_acquired] = times(second_log, f"{held} acquired by")
    assert times(second_log, "waiting for the shoot's operation lease"), (
        "the second reconcile never waited: the first did not hold the lease when it started"
    )
    assert max(first_flow) <= first_released <= second_acquired <= min(second_flow), (
        f"the reconciles overlapped: first flow {min(first_flow)}..{max(first_flow)}, "
        f"released {first_released}; second acquired {second_acquired}, flow from "
        f"{min(second_flow)}"
    )
    waited = times(second_log, "waiting for the shoot's operation lease")
    print(  # shown by pytest -s: the numbers behind the report
        f"first flow {(max(first_flow) - min(first_flow)).total_seconds():.1f}s, released "
        f"{(second_acquired - first_released).total_seconds():.2f}s before the second "
        f"acquired; the second waited {(second_acquired - min(waited)).total_seconds():.1f}s "
        f"({len(waited)} looks), its flow {(max(second_flow) - min(second_flow)).total_seconds():.1f}s"
    )


def test_two_reconciles_of_one_shoot_run_one_after_the_other(
    seed_kubeconfig: Path, shoot_name: str, tmp_path: Path
) -> None:
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = reconcile(seed_kubeconfig, shoot_name, first_log)
    deadline = time.monotonic() + 120
    while not times(first_log, "acquired by"):
        assert first.poll() is None, first_log.read_text()
        assert time.monotonic() < deadline, "the first reconcile never took the lease"
        time.sleep(0.2)
    second = reconcile(seed_kubeconfig, shoot_name, second_log)
    assert first.wait(timeout=600) == 0, first_log.read_text()
    assert second.wait(timeout=600) == 0, second_log.read_text()
    assert_one_after_the_other(first_log, second_log, shoot_name)


PROVISION = Path(__file__).with_name("provision_run.py")


def provision(name: str, log: Path) -> subprocess.Popen[bytes]:
    """One garden_provision DagRun (dag.test()) in a process of its own; output to ``log``."""
    argv = [
        sys.executable,
        str(PROVISION),
        "--conf",
        json.dumps({"project": PROJECT, "name": name}),
    ]
    argv += ["--logical-date", dt.datetime.now(dt.UTC).isoformat()]
    return subprocess.Popen(argv, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def reconcile_pods(seed: KubeClient, shoot_name: str) -> int:
    """garden_provision's reconcile pods of this shoot running now (in the garden
    namespace; other shoots' are other tests', maybe another lane's)."""
    pods = seed.list(
        "v1",
        "Pod",
        DEFAULT_NAMESPACE,
        label_selector="dag_id=garden_provision,task_id=create_shoot",
    )
    return sum(
        (p.get("status") or {}).get("phase") == "Running" and acts_on(p, PROJECT, shoot_name)
        for p in pods
    )


@pytest.mark.usefixtures("airflow_seed_connection")
def test_two_garden_provision_runs_of_one_shoot_never_reconcile_at_once(
    seed: KubeClient, shoot_name: str, tmp_path: Path
) -> None:
    """The test holds the shoot's Lease until both runs' reconcile pods run (each then
    waits for it), so the two contend for real; whichever takes it first, the other's
    reconcile starts only after it was released."""
    logs = [tmp_path / "run-a.log", tmp_path / "run-b.log"]
    runs: list[subprocess.Popen[bytes]] = []
    lost: list[str] = []
    try:
        with lease.held(
            seed,
            namespace=naming.project_namespace(PROJECT),
            name=naming.operation_lease(shoot_name),
            holder="provision-lock-test",
            on_lost=lost.append,
        ):
            for log in logs:  # one after the other: each starts by writing Airflow's DB
                runs.append(provision(shoot_name, log))
                expected, deadline = len(runs), time.monotonic() + 300
                while reconcile_pods(seed, shoot_name) < expected:
                    for run, out in zip(runs, logs, strict=False):
                        assert run.poll() is None, out.read_text()[-4000:]
                    assert time.monotonic() < deadline, "a run's reconcile pod never started"
                    time.sleep(0.5)
        assert not lost, lost
        for run, out in zip(runs, logs, strict=True):
            assert run.wait(timeout=900) == 0, out.read_text()[-4000:]
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
    for log in logs:
        assert log.read_text().rstrip().endswith("DAGRUN-STATE success"), log.read_text()[-4000:]
    held = f"{naming.operation_lease(shoot_name)} acquired by"
    first, second = sorted(logs, key=lambda log: min(times(log, held)))
    assert_one_after_the_other(first, second, shoot_name)
    # Both first_backups ran (backups take no Lease, so maybe at once): each stored and
    # verified a snapshot of its own; one key for both paired one's manifest with the
    # other's object ("has 35344 bytes, its manifest says 35345").
    stored = [set(STORED.findall(log.read_text())) for log in logs]
    assert [len(keys) for keys in stored] == [1, 1], stored
    assert stored[0] != stored[1], f"both runs' first backups wrote {stored[0]}"
