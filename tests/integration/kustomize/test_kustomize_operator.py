"""KustomizeApplyOperator through Airflow (`dag.test()`): real pods in the seed.

The source ships from the DAG's folder to the pod in a ConfigMap; the pod runs
the toolbox image. Seed target: the pod runs as garden-kustomize, which the
seed's admins bind to the namespaces it may change (here: the test namespace).
Shoot target: the pod runs in the project namespace with the shoot's kubeconfig.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
from kustomize_helpers import kubectl

from airflow_provider_garden.kube.dynamic import DynamicClient
from airflow_provider_garden.operators.kustomize import SOURCE_LABEL
from airflow_provider_garden.operators.pod import OPERATION_LABEL

pytestmark = pytest.mark.integration

DAG = """
import pendulum
from airflow.sdk import DAG
from airflow_provider_garden.operators.kustomize import KustomizeApplyOperator

with DAG(
    dag_id={dag_id!r},
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
) as dag:
    common = dict(
        inventory_id={inventory!r},
        source_path="someapp",
        overlay="overlays/production",
        target={target!r},
        default_namespace={namespace!r},
        wait_timeout={wait},
        deferrable={deferrable},
    )
    apply = KustomizeApplyOperator(task_id="apply", prune=True, **common)
    diff = KustomizeApplyOperator(task_id="diff", mode="diff", **common)
    apply >> diff
"""


def run_dag(
    folder: Path, dag_id: str, *, state: str = "success", deferrable: bool = False, **params: Any
) -> dict[str, dict[str, Any]]:
    """Write the DAG into the test's bundle, run it; return each task's XCom."""
    text = DAG.format(dag_id=dag_id, deferrable=deferrable, **params)
    (folder / f"{dag_id}.py").write_text(text)
    dag = DagBag(dag_folder=str(folder)).dags[dag_id]
    run = dag.test()
    assert run.state == state
    with create_session() as session:
        rows = session.scalars(
            XComModel.get_many(run_id=run.run_id, dag_ids=dag_id, key="return_value")
        ).all()
        return {r.task_id: XComModel.deserialize_value(r) for r in rows}


def let_garden_kustomize_manage(seed_kubeconfig: Path, namespace: str) -> None:
    """What a seed admin does to let seed-target tasks change a namespace."""
    kubectl(
        seed_kubeconfig,
        "-n",
        namespace,
        "create",
        "rolebinding",
        "garden-kustomize",
        "--clusterrole=admin",
        "--serviceaccount=garden-system:garden-kustomize",
    )


def source_configmaps(garden: DynamicClient) -> set[str]:
    items = garden.list("v1", "ConfigMap", "garden-system", label_selector=SOURCE_LABEL)
    return {cm["metadata"]["name"] for cm in items}


def nothing_left_behind(garden: DynamicClient, dag_id: str, sources_before: set[str]) -> None:
    """The shipped source and the task's pods are gone with the task.

    Sources of other runs (a parallel session, an aborted earlier one) are not ours to judge.
    """
    assert source_configmaps(garden) - sources_before == set()
    pods = f"{OPERATION_LABEL}=kustomize,dag_id={dag_id}"
    assert not garden.list("v1", "Pod", "garden-system", label_selector=pods)


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferrable"])
def test_apply_then_diff_to_the_seed(
    garden: DynamicClient,
    dags_folder: Path,
    namespace: str,
    seed_kubeconfig: Path,
    deferrable: bool,
) -> None:
    let_garden_kustomize_manage(seed_kubeconfig, namespace)
    sources_before = source_configmaps(garden)
    try:
        xcom = run_dag(
            dags_folder,
            f"kz_seed_{namespace.replace('-', '_')}",
            deferrable=deferrable,
            inventory=namespace,
            target="seed",
            namespace=namespace,
            wait=120,
        )
        assert xcom["apply"]["changed"] is True
        assert xcom["apply"]["counts"]["create"] == 3
        assert xcom["diff"]["changed"] is False
        assert xcom["diff"]["counts"]["unchanged"] == 3
        dep = garden.get("apps/v1", "Deployment", "hello-the-deployment", namespace)
        assert dep["metadata"]["labels"] == {"app": "hello", "env": "production"}
        assert dep["spec"]["replicas"] == 3
        nothing_left_behind(garden, f"kz_seed_{namespace.replace('-', '_')}", sources_before)
    finally:
        garden.delete("v1", "ConfigMap", f"garden-inventory-{namespace}", "garden-system")


def test_unhealthy_rollout_fails_the_task_naming_it_and_cleans_up(
    garden: DynamicClient,
    dags_folder: Path,
    namespace: str,
    seed_kubeconfig: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    let_garden_kustomize_manage(seed_kubeconfig, namespace)
    deployment = dags_folder / "someapp" / "base" / "deployment.yaml"
    deployment.write_text(
        deployment.read_text()
        .replace("registry.k8s.io/pause:3.10", "garden.invalid/absent:1")
        .replace("IfNotPresent", "Never")
    )
    dag_id = f"kz_fail_{namespace.replace('-', '_')}"
    sources_before = source_configmaps(garden)
    try:
        xcom = run_dag(
            dags_folder,
            dag_id,
            state="failed",
            inventory=namespace,
            target="seed",
            namespace=namespace,
            wait=5,
        )
        assert xcom == {}  # a failed apply returns nothing to branch on
        logs = capfd.readouterr().out
        assert f"not healthy after 5s: Deployment/{namespace}/hello-the-deployment" in logs
        nothing_left_behind(garden, dag_id, sources_before)
    finally:
        garden.delete("v1", "ConfigMap", f"garden-inventory-{namespace}", "garden-system")


def test_apply_then_diff_to_a_shoot(
    garden: DynamicClient, shoot: tuple[str, str], shoot_kubeconfig: Path, dags_folder: Path
) -> None:
    project, name = shoot
    target_ns = "hello"
    kubectl(shoot_kubeconfig, "create", "namespace", target_ns)
    # the shoot has no machines: pods cannot run, so the rollout is not waited for
    xcom = run_dag(
        dags_folder,
        f"kz_shoot_{name}",
        inventory="addons",
        target=f"{project}/{name}",
        namespace=target_ns,
        wait=0,
    )
    assert xcom["apply"]["counts"]["create"] == 3
    assert xcom["apply"]["target"] == f"{project}/{name}"
    assert xcom["diff"]["changed"] is False
    out = kubectl(
        shoot_kubeconfig,
        "-n",
        target_ns,
        "get",
        "deployment",
        "hello-the-deployment",
        "-o",
        "jsonpath={.metadata.labels.env} {.spec.replicas}",
    )
    assert out == "production 3"
    inventory = kubectl(
        shoot_kubeconfig,
        "-n",
        "kube-system",
        "get",
        "configmap",
        "garden-inventory-addons",
        "-o",
        "name",
    )
    assert inventory.strip() == "configmap/garden-inventory-addons"
    # nothing of it landed in the seed
    assert garden.find("apps/v1", "Deployment", "hello-the-deployment", target_ns) is None
