"""Two `garden-agent shoot reconcile` processes for one shoot never reconcile at once.

The real path of two garden_provision runs, minus Airflow: each run's pod is one
agent process; here both run on the host against the seed, the second started
while the first holds the shoot's operation Lease. Their logs (one host clock)
say when each held it and when each flow ran.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.settings import DEFAULT_NAMESPACE
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.kube.shoots import Shoots
from airflow_provider_garden.localseed.profile import local_profile

pytestmark = pytest.mark.integration
AGENT = str(Path(sys.executable).with_name("garden-agent"))
PROJECT = "lease"
STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def reconcile(seed_kubeconfig: Path, name: str, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "KUBERNETES_SERVICE_HOST"}
    argv = [AGENT, f"--kubeconfig={seed_kubeconfig}", f"--garden-namespace={DEFAULT_NAMESPACE}"]
    argv += ["shoot", "reconcile", f"--project={PROJECT}", f"--name={name}"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log.open("wb"), env=env)


def times(log: Path, marker: str) -> list[dt.datetime]:
    found = []
    for line in log.read_text().splitlines():
        stamp = STAMP.match(line)
        if stamp and marker in line:
            found.append(dt.datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S,%f"))
    return found


def test_two_reconciles_of_one_shoot_run_one_after_the_other(
    seed: KubeClient,
    seed_kubeconfig: Path,
    shoot_cleanup: list[tuple[str, str]],
    tmp_path: Path,
) -> None:
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
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = reconcile(seed_kubeconfig, name, first_log)
    deadline = time.monotonic() + 120
    while not times(first_log, "acquired by"):
        assert first.poll() is None, first_log.read_text()
        assert time.monotonic() < deadline, "the first reconcile never took the lease"
        time.sleep(0.2)
    second = reconcile(seed_kubeconfig, name, second_log)
    assert first.wait(timeout=600) == 0, first_log.read_text()
    assert second.wait(timeout=600) == 0, second_log.read_text()

    first_flow = times(first_log, "flow '")
    second_flow = times(second_log, "flow '")
    assert first_flow, f"the first reconcile ran no flow: {first_log.read_text()}"
    assert second_flow, f"the second reconcile ran no flow: {second_log.read_text()}"
    [first_released] = times(first_log, "released by")
    [second_acquired] = times(second_log, "acquired by")
    assert times(second_log, "waiting for the shoot's operation lease"), (
        "the second reconcile never waited: the first did not hold the lease when it started"
    )
    assert max(first_flow) <= first_released <= second_acquired <= min(second_flow), (
        f"the reconciles overlapped: first flow {min(first_flow)}..{max(first_flow)}, "
        f"released {first_released}; second acquired {second_acquired}, flow from "
        f"{min(second_flow)}"
    )
