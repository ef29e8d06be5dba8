"""garden_selfcheck through the real scheduler: a toolbox pod on the seed, its result as XCom."""

from __future__ import annotations

import time

from airflow_stack import AirflowStack

from airflow_provider_garden import __version__
from airflow_provider_garden.kube.client import KubeClient

DAG_ID = "garden_selfcheck"
TASK_ID = "toolbox_version"


def test_selfcheck_runs_a_toolbox_pod_and_cleans_it_up(
    airflow_stack: AirflowStack, airflow_seed: KubeClient, e2e_report: list[str]
) -> None:
    api = airflow_stack.api
    api.wait_dag_parsed(DAG_ID)
    api.unpause(DAG_ID)

    began = time.monotonic()
    run_id = api.trigger(DAG_ID)
    state = api.wait_run(DAG_ID, run_id, timeout=300)
    e2e_report.append(f"trigger -> {DAG_ID} {state}: {time.monotonic() - began:.1f}s")

    assert state == "success", api.task_logs(DAG_ID, run_id, TASK_ID)
    pods = airflow_seed.list("v1", "Pod", "garden-system", label_selector=f"dag_id={DAG_ID}")
    assert [p["metadata"]["name"] for p in pods] == []
    assert "return_value" in api.xcom_keys(DAG_ID, run_id, TASK_ID), "no result was pushed"
    result = api.xcom(DAG_ID, run_id, TASK_ID)
    assert result["agent"] == __version__
    assert all(result[tool] for tool in ("kubectl", "etcdctl", "etcdutl"))
