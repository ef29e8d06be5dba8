"""Kill-matrix fixtures: the shared stack and seed, a pod watcher, and what cases need first.

`matrix_runner` unpauses the matrix DAGs and prepares the kustomize namespace. The
matrix shoot is provisioned through the bundled `garden_provision` DAG when the
first test needs it (in the background: other cases run meanwhile); at the end of
the session it is deleted through `garden_teardown`, and what the cases left in the
seed is removed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from airflow_stack import AirflowStack
from kill_matrix.harness import MatrixRunner, PodWatcher, wait_run
from kill_matrix.operators import (
    GARDEN_NAMESPACE,
    KUSTOMIZE_NAMESPACE,
    PROJECT,
    SHOOT,
    cases,
)

from airflow_provider_garden.core import naming
from airflow_provider_garden.kube.client import KubeClient, NotFound

EXTRA_DAGS = (
    "kmx_reaper_subjects",
    "kmx_reaper",
    "kmx_canary",
    "garden_provision",
    "garden_teardown",
)


@pytest.fixture(scope="session")
def pod_watcher(airflow_seed: KubeClient) -> Iterator[PodWatcher]:
    watcher = PodWatcher(airflow_seed)
    watcher.start()
    yield watcher
    watcher.stop()


def let_garden_kustomize_manage(kube: KubeClient, namespace: str) -> None:
    """What a seed admin does to let seed-target kustomize tasks change a namespace."""
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    kube.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "garden-kustomize", "namespace": namespace},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "admin",
            },
            "subjects": [
                {
                    "kind": "ServiceAccount",
                    "name": "garden-kustomize",
                    "namespace": GARDEN_NAMESPACE,
                }
            ],
        }
    )


@pytest.fixture(scope="session")
def matrix_runner(
    airflow_stack: AirflowStack,
    airflow_seed: KubeClient,
    pod_watcher: PodWatcher,
    e2e_report: list[str],
) -> Iterator[MatrixRunner]:
    api = airflow_stack.api
    runner = MatrixRunner(stack=airflow_stack, kube=airflow_seed, watcher=pod_watcher)
    for dag_id in [*EXTRA_DAGS, *(case.dag_id for case in cases())]:
        api.wait_dag_parsed(dag_id)
        api.unpause(dag_id)
    let_garden_kustomize_manage(airflow_seed, KUSTOMIZE_NAMESPACE)
    yield runner
    # Cases and the canary fail on their own leaks; this sweeps those of runs that
    # errored before they looked.
    left = runner.sweep_kustomize_sources()
    e2e_report.append(
        f"kustomize source ConfigMaps left by runs that did not check (deleted now): "
        f"{', '.join(left) or 'none'}"
    )
    if runner.shoot_requested:
        runner.shoot()  # a provisioning still under way ends first
        teardown = {"project": PROJECT, "name": SHOOT, "confirm": f"{PROJECT}/{SHOOT}"}
        wait_run(api, "garden_teardown", teardown, timeout=600)
        airflow_seed.delete("v1", "Namespace", naming.project_namespace(PROJECT))
    airflow_seed.delete("v1", "Namespace", KUSTOMIZE_NAMESPACE)
    for cm in airflow_seed.list("v1", "ConfigMap", GARDEN_NAMESPACE):
        if cm["metadata"]["name"].startswith("garden-inventory-kmx-"):
            try:
                airflow_seed.delete("v1", "ConfigMap", cm["metadata"]["name"], GARDEN_NAMESPACE)
            except NotFound:
                continue
