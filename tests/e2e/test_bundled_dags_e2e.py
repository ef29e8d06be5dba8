"""The bundled DAGs through a real scheduler, triggerer and LocalExecutor on PostgreSQL.

- garden_provision triggered through the REST API creates a working shoot; its
  ShootReadySensor defers and completes in the real triggerer; garden_teardown
  removes the shoot again.
- garden_backup over three shoots with a pool of two slots: a watcher sampling the
  seed never sees more than two backup pods at once, and every shoot gets a
  verified snapshot.
"""

from __future__ import annotations

import base64
import subprocess
import time
from pathlib import Path

from airflow_stack import AirflowStack
from sampling import SampleLedger, Window, sampling
from seed_kubectl import kubectl as seed_kubectl

from airflow_provider_garden.core import naming
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.localseed.profile import local_profile
from airflow_provider_garden.operators.pod import OPERATION_LABEL

PROJECT = "e2e"


def _run(
    stack: AirflowStack, dag_id: str, conf: dict[str, object], timeout: float = 900
) -> tuple[str, str]:
    api = stack.api
    api.wait_dag_parsed(dag_id)
    api.unpause(dag_id)
    run_id = api.trigger(dag_id, conf)
    return run_id, api.wait_run(dag_id, run_id, timeout=timeout)


def _shoot(seed: KubeClient, name: str) -> dict[str, object] | None:
    return seed.find(SHOOT_API_VERSION, "Shoot", name, naming.project_namespace(PROJECT))


def test_provision_then_teardown_through_the_scheduler(
    airflow_stack: AirflowStack, airflow_seed: KubeClient, tmp_path: Path, e2e_report: list[str]
) -> None:
    api = airflow_stack.api
    began = time.monotonic()
    run_id, state = _run(airflow_stack, "garden_provision", {"project": PROJECT, "name": "web"})
    e2e_report.append(
        f"garden_provision through the scheduler: {state} in {time.monotonic() - began:.0f}s"
    )
    assert state == "success", api.task_logs("garden_provision", run_id, "create_shoot")
    assert api.task_instance("garden_provision", run_id, "wait_until_ready")["state"] == "success"

    secret = airflow_seed.get(
        "v1", "Secret", naming.kubeconfig_secret("web"), naming.project_namespace(PROJECT)
    )
    kubeconfig = tmp_path / "web.kubeconfig"
    kubeconfig.write_bytes(base64.b64decode(secret["data"]["kubeconfig-external"]))
    readyz = subprocess.run(
        [seed_kubectl(), "--kubeconfig", str(kubeconfig), "get", "--raw", "/readyz"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert readyz.stdout.strip() == "ok"

    run_id, state = _run(
        airflow_stack,
        "garden_teardown",
        {"project": PROJECT, "name": "web", "confirm": f"{PROJECT}/web"},
    )
    assert state == "success", api.task_logs("garden_teardown", run_id, "delete_shoot")
    assert _shoot(airflow_seed, "web") is None
    assert (
        airflow_seed.find("v1", "Namespace", naming.controlplane_namespace(PROJECT, "web")) is None
    )


def test_shoot_ready_sensor_completes_in_the_real_triggerer(
    airflow_stack: AirflowStack, airflow_seed: KubeClient, e2e_report: list[str]
) -> None:
    api, dag_id = airflow_stack.api, "e2e_shoot_sensor"
    api.wait_dag_parsed(dag_id)
    api.unpause(dag_id)
    version = local_profile().kubernetes_versions[0]
    run_id = api.trigger(dag_id, {"project": PROJECT, "name": "sensed", "version": version})
    states = []
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        states.append(api.task_instance(dag_id, run_id, "ready")["state"])
        if states[-1] in ("success", "failed", "upstream_failed"):
            break
        time.sleep(0.5)
    assert "deferred" in states, states  # it waited in the triggerer, holding no worker slot
    assert states[-1] == "success", api.task_logs(dag_id, run_id, "ready")
    assert api.wait_run(dag_id, run_id, timeout=120) == "success"
    e2e_report.append(
        f"ShootReadySensor: deferred, then succeeded through the triggerer ({len(states)} samples)"
    )
    _, state = _run(
        airflow_stack,
        "garden_teardown",
        {"project": PROJECT, "name": "sensed", "confirm": f"{PROJECT}/sensed"},
    )
    assert state == "success"


def test_backups_of_three_shoots_never_exceed_the_pool(
    airflow_stack: AirflowStack, airflow_seed: KubeClient, e2e_report: list[str]
) -> None:
    names = ["b1", "b2", "b3"]
    for name in names:
        _, state = _run(airflow_stack, "garden_provision", {"project": PROJECT, "name": name})
        assert state == "success", name
    before = {
        n: ((_shoot(airflow_seed, n) or {}).get("status") or {})
        .get("lastBackup", {})
        .get("snapshot")
        for n in names
    }  # type: ignore[union-attr]
    airflow_stack.api.pool_set("garden_backup", 2, include_deferred=True)

    seen: list[int] = []
    # The whole garden_backup run is the critical window: "never more than the pool"
    # holds only where the watcher looked.
    ledger = SampleLedger("backup pod watcher", max_lost_share=0.02)

    def sample() -> float:
        pods = airflow_seed.list("v1", "Pod", None, label_selector=f"{OPERATION_LABEL}=etcd-backup")
        seen.append(len([p for p in pods if p["metadata"].get("deletionTimestamp") is None]))
        return time.monotonic()

    with sampling("backup-pod-watcher", sample, ledger, every=0.2):
        began = time.monotonic()
        run_id, state = _run(
            airflow_stack, "garden_backup", {"only": [f"{PROJECT}/{n}" for n in names]}
        )
        window = Window("of the garden_backup run", began, time.monotonic())
    assert state == "success", airflow_stack.api.task_logs("garden_backup", run_id, "backup")
    e2e_report.append(
        f"garden_backup over 3 shoots, pool of 2: at most {max(seen, default=0)} backup pods "
        f"at once; {ledger.summary()}"
    )
    lost = ledger.problems([window])
    assert not lost, "\n".join([*lost, ledger.summary()])
    assert max(seen) <= 2
    assert max(seen) >= 1
    # The UI names each mapped backup by its shoot (map_index_template), not [0], [1], [2].
    mapped = airflow_stack.api.task_instances("garden_backup", run_id)
    shown = sorted(ti["rendered_map_index"] for ti in mapped if ti["task_id"] == "backup")
    assert shown == sorted(f"{PROJECT}/{n}" for n in names)
    for name in names:
        backup = (_shoot(airflow_seed, name) or {}).get("status", {}).get("lastBackup", {})  # type: ignore[union-attr]
        assert backup.get("verified") is True
        assert backup.get("snapshot") != before[name]
    for name in names:
        _run(
            airflow_stack,
            "garden_teardown",
            {"project": PROJECT, "name": name, "confirm": f"{PROJECT}/{name}"},
        )
