"""garden_maintenance acts only on shoots whose window contains the run's logical time,
and one broken shoot fails only itself.

Three real shoots (win-a: a Kubernetes patch update; win-b: outside the window; win-c:
the newest Kubernetes and an outdated machine image) beside two bare Shoot objects (no
control plane, nothing is ever built for them): win-broken, whose window the CRD accepts
and the rules refuse (10 minutes), and win-badnet, whose pod network is the seed's own,
so its patch update fails at validation. The run maintains win-a and win-c, records both
broken ones Failed naming why, and fails.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.utils.state import TaskInstanceState

from airflow_provider_garden.core import naming
from airflow_provider_garden.drivers.base import LABEL_IMAGE_VERSION
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("airflow_seed_connection")]
DAGS = Path(__file__).resolve().parents[3] / "dags"
OLD, NEW = "1.32.11", "1.32.13"
T1 = dt.datetime(2026, 12, 1, 3, 30, tzinfo=dt.UTC)  # inside 03:00-04:00 UTC
T2 = dt.datetime(2026, 12, 1, 12, 30, tzinfo=dt.UTC)  # inside 13:00-14:00 at +0100
POOL = {
    "name": "pool",
    "machine": {"type": "local", "image": {"name": "gardenlinux", "version": "1592.1"}},
    "minimum": 2,
    "maximum": 3,
    "maxSurge": 1,
    "maxUnavailable": 0,
}
SHOOTS: dict[str, dict[str, Any]] = {
    # name: (window, workers)
    "win-a": {"window": {"begin": "030000+0000", "end": "040000+0000"}, "workers": []},
    "win-b": {"window": {"begin": "130000+0100", "end": "140000+0100"}, "workers": []},
    "win-c": {
        "window": {"begin": "023000+0000", "end": "050000+0000"},
        "workers": [POOL],
        "version": NEW,  # no Kubernetes update: the outdated image is still rolled
    },
}
# Bare Shoots: name -> what is wrong, as a patch of win-a's spec.
BROKEN: dict[str, dict[str, Any]] = {
    "win-broken": {"maintenance": {"timeWindow": {"begin": "030000+0000", "end": "031000+0000"}}},
    "win-badnet": {"networking": {"pods": "10.200.0.0/16"}},  # the local seed's pod network
}
EVERY = [f"maint/{n}" for n in (*SHOOTS, *BROKEN)]


@pytest.fixture(scope="module")
def bundled() -> dict[str, Any]:
    return DagBag(dag_folder=str(DAGS)).dags


@pytest.fixture(scope="module")
def fleet(seed: KubeClient, bundled: dict[str, Any], shoot_cleanup: list[tuple[str, str]]) -> None:
    for name, s in SHOOTS.items():
        shoot_cleanup.append(("maint", name))
        run = bundled["garden_provision"].test(
            run_conf={
                "project": "maint",
                "name": name,
                "kubernetes_version": s.get("version", OLD),
                "maintenance_window": s["window"],
                "workers": s["workers"],
            }
        )
        assert run.state == "success", name


@pytest.fixture(scope="module")
def broken(seed: KubeClient, fleet: None) -> Iterator[None]:
    """The bare Shoots, from win-a's spec with one part broken; deleted afterwards."""
    namespace = naming.project_namespace("maint")
    spec = shoot(seed, "win-a")["spec"]
    try:
        for name, patch in BROKEN.items():
            seed.apply(
                {
                    "apiVersion": SHOOT_API_VERSION,
                    "kind": "Shoot",
                    "metadata": {"name": name, "namespace": namespace},
                    "spec": {**spec, "kubernetes": {"version": OLD}, **patch},
                }
            )
        yield
    finally:
        for name in BROKEN:
            seed.delete(SHOOT_API_VERSION, "Shoot", name, namespace)


def shoot(seed: KubeClient, name: str) -> dict[str, Any]:
    return seed.get(SHOOT_API_VERSION, "Shoot", name, naming.project_namespace("maint"))


def machine_versions(seed: KubeClient, name: str, tmp: Path) -> list[str]:
    """Image versions of the shoot's Nodes (its machines), read from the shoot's API."""
    secret = seed.get(
        "v1", "Secret", naming.kubeconfig_secret(name), naming.project_namespace("maint")
    )
    path = tmp / f"{name}.kubeconfig"
    path.write_bytes(base64.b64decode(secret["data"]["kubeconfig-external"]))
    nodes = KubeClient.from_kubeconfig(str(path)).list("v1", "Node")
    return sorted(n["metadata"]["labels"][LABEL_IMAGE_VERSION] for n in nodes)


def test_only_in_window_shoots_are_maintained_and_broken_ones_fail_alone(
    seed: KubeClient, bundled: dict[str, Any], broken: None, tmp_path: Path
) -> None:
    maintenance = bundled["garden_maintenance"]
    # what an earlier (aborted) session may have left: only a change counts
    b_before = shoot(seed, "win-b").get("status", {}).get("lastMaintenance")

    run = maintenance.test(logical_date=T1, run_conf={"only": EVERY})
    assert run.state == "failed"  # two shoots were not maintained: the run says so
    states = [(t.task_id, t.state) for t in run.get_task_instances()]
    failed = sorted(task for task, state in states if state == TaskInstanceState.FAILED)
    # win-broken's own prepare, win-badnet's own patch update, and the record saying so
    assert failed == ["record", "shoot.patch_update", "shoot.prepare"], states
    # win-badnet's failed update held back no one else's rollout
    assert [s for t, s in states if t == "machine_image_rollout"] == ["success"], states
    a, b, c = (shoot(seed, n) for n in ("win-a", "win-b", "win-c"))
    assert a["spec"]["kubernetes"]["version"] == NEW
    assert a["status"]["kubernetesVersion"] == "v" + NEW
    assert a["status"]["lastMaintenance"]["state"] == "Succeeded"
    assert b["spec"]["kubernetes"]["version"] == OLD  # outside its window: untouched
    assert b["status"].get("lastMaintenance") == b_before
    # the outdated machine image was rolled
    assert c["spec"]["workers"][0]["machine"]["image"]["version"] == "1592.2"
    assert c["status"]["lastMaintenance"]["state"] == "Succeeded"
    assert machine_versions(seed, "win-c", tmp_path) == ["1592.2", "1592.2"]
    assert c["status"]["kubernetesVersion"] == "v" + NEW  # no reconcile was needed
    # the broken ones: Failed, naming why; the window's shoot left as it was
    bad_window = shoot(seed, "win-broken")
    record = bad_window["status"]["lastMaintenance"]
    assert record["state"] == "Failed"
    assert "spec.maintenance.timeWindow" in record["failureReason"]
    assert bad_window["spec"]["kubernetes"]["version"] == OLD
    bad_net = shoot(seed, "win-badnet")["status"]["lastMaintenance"]
    assert bad_net["state"] == "Failed"
    assert f"Kubernetes {NEW} is not running" in bad_net["failureReason"]

    assert maintenance.test(logical_date=T2, run_conf={"only": ["maint/win-b"]}).state == "success"
    b = shoot(seed, "win-b")
    assert b["spec"]["kubernetes"]["version"] == NEW
    assert b["status"]["lastMaintenance"]["state"] == "Succeeded"
