"""MachineRolloutOperator through Airflow (`dag.test()`): the rollout runs as a real pod.

The pod runs the toolbox image in the shoot's project namespace, as the
``garden-machines`` account the operator binds there, with the shoot's kubeconfig
Secret mounted; the target version given to the operator is written to the
Shoot's spec first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
from machines_helpers import NEW, POOL, PROJECT, Shoot, deploy_workload, is_ready, version_of

from airflow_provider_garden.operators.pod import OPERATION_LABEL

# Shoots of the one project `machines`, and `care --project machines` heals any of them:
# the machine modules share one lane (tests/lanes.py).
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900), pytest.mark.lane_group("machines")]

DAG = """
import pendulum
from airflow.sdk import DAG
from airflow_provider_garden.operators.machines import MachineRolloutOperator

with DAG(
    dag_id="machines_rollout",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"project": "", "name": "", "version": ""},
) as dag:
    MachineRolloutOperator(
        task_id="roll",
        project="{{ params.project }}",
        name="{{ params.name }}",
        worker_pool="pool-a",
        image_version="{{ params.version }}",
        creation_timeout=120,
    )
"""


@pytest.fixture
def bundle(tmp_path: Path, seed_kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's DAG bundle (dag.test() runs only DAGs of a bundle), Airflow on the seed."""
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "machines_rollout.py").write_text(DAG)
    conn = {"conn_type": "kubernetes", "extra": {"kube_config_path": str(seed_kubeconfig)}}
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps(conn))
    bundle_config = {
        "name": "machines-tests",
        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
        "kwargs": {"path": str(folder)},
    }
    monkeypatch.setenv(
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([bundle_config])
    )
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run(
        [str(airflow), "db", "migrate"],
        check=True,
        capture_output=True,
        timeout=600,
        env=os.environ,
    )
    return folder


def test_operator_rolls_the_pool_from_a_pod(make_shoot: Callable[..., Shoot], bundle: Path) -> None:
    shoot = make_shoot(machines=4)
    deploy_workload(shoot, replicas=8, min_available=6)
    dag = DagBag(dag_folder=str(bundle)).dags["machines_rollout"]
    run = dag.test(run_conf={"project": PROJECT, "name": shoot.name, "version": NEW})
    assert run.state == "success"
    with create_session() as session:
        [row] = session.scalars(
            XComModel.get_many(run_id=run.run_id, dag_ids="machines_rollout", key="return_value")
        ).all()
        result: dict[str, Any] = XComModel.deserialize_value(row)
    assert result["state"] == "Succeeded"
    assert result["image"] == {"name": "gardenlinux", "version": NEW}
    assert result["machinesDrained"] == 4
    assert len(json.dumps(result)) <= 4096
    nodes = shoot.nodes()
    assert sorted(version_of(n) for n in nodes) == [NEW] * 4
    assert all(is_ready(n) for n in nodes)
    resource = shoot.resource()
    assert resource["spec"]["workers"][0]["machine"]["image"]["version"] == NEW
    assert resource["status"]["workers"][POOL]["rollout"]["state"] == "Succeeded"
    # The pod ran in the project namespace and is gone.
    pods = shoot.seed.list(
        "v1", "Pod", f"garden-{PROJECT}", label_selector=f"{OPERATION_LABEL}=machines-rollout"
    )
    assert pods == []
