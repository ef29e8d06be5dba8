"""garden_provision refuses a reserved or malformed project before anything exists on the seed.

The bundled DAG runs through Airflow (`dag.test()`, templates rendered as native
objects, so ``123`` reaches the operator as a number). What shows nothing was made:
the project namespace does not exist afterwards (``system``: its namespace is the
provider's own, so no Shoot and no reconcile pod appeared in it), and the task's
failure names the rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from reconcile_pods import reconcile_pods

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.settings import DEFAULTS
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("airflow_seed_connection")]
DAGS = Path(__file__).resolve().parents[3] / "dags"
NAME = "names-probe"
REFUSED = {
    "system": "project 'system' is reserved",
    "123": "project 123 must be text, got int",
    "Team_A": "project 'Team_A' must be a DNS-1123 label",
    "a--b": "project 'a--b' must not contain '--'",
}


@pytest.fixture(scope="module")
def provision() -> Any:
    return DagBag(dag_folder=str(DAGS)).dags["garden_provision"]


@pytest.mark.parametrize("project", sorted(REFUSED))
def test_provision_refuses_the_project_and_creates_nothing(
    seed: KubeClient, provision: Any, project: str, capfd: pytest.CaptureFixture[str]
) -> None:
    namespace = naming.project_namespace(project)
    existed = seed.find("v1", "Namespace", namespace) is not None
    assert existed == (namespace == DEFAULTS.namespace)  # only `system` names a real one
    pods_before = reconcile_pods(seed, project)
    capfd.readouterr()

    run = provision.test(run_conf={"project": project, "name": NAME})

    assert str(run.state) == "failed"
    # The task's failure as Airflow logs it (structlog writes to the process's stderr/stdout).
    out, err = capfd.readouterr()
    assert f"- project: {REFUSED[project]}" in out + err
    assert (seed.find("v1", "Namespace", namespace) is not None) == existed
    if existed:
        assert seed.find(SHOOT_API_VERSION, "Shoot", NAME, namespace) is None
    assert reconcile_pods(seed, project) - pods_before == set()
