"""A task follows its garden connection's seed namespace, read when it runs.

The provider is installed a second time on the seed, into a namespace of this module's
own, and a ``garden`` connection names that namespace (and the toolbox image); ``[garden]
namespace`` stays ``garden-system``. The bundled ``garden_selfcheck`` DAG, parsed with
``[garden] kubernetes_conn_id`` naming that connection, runs its pod there: the pod's
events are in that namespace, which nothing but the connection named. Everything the
module made, namespaced or cluster-wide, is removed afterwards.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.models.connection import Connection

from airflow_provider_garden.core.seed_policy import admission_policy
from airflow_provider_garden.core.toolbox import TOOLBOX_IMAGE
from airflow_provider_garden.kube.bootstrap import install
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.errors import NotFound
from airflow_provider_garden.kube.rbac import ACCOUNTS
from airflow_provider_garden.localseed.profile import local_profile

# Lanes (tests/lanes.py): free, as settings/test_garden_namespace.py, which installs the
# provider a second time the same way. The install's ClusterRoles, bindings and admission
# policy are named after its own random namespace, and only those are deleted; the policy
# confines each account by that account's own namespace, so a second copy changes nothing
# for garden-system's accounts; the CRDs are re-applied unchanged from the same code;
# [garden] kubernetes_conn_id and the connection are this process's environment only;
# its one pod (in its namespace) requests little, and it starts no control plane.
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("airflow_seed_connection")]
DAGS = Path(__file__).resolve().parents[3] / "dags"
CONN_ID = "garden_seed_second"


@pytest.fixture(scope="module")
def second_install(seed_kubeconfig: Path) -> Iterator[str]:
    """The provider installed into a second namespace of the seed; removed afterwards."""
    kube = KubeClient.from_kubeconfig(str(seed_kubeconfig))
    namespace = f"garden-conn-{secrets.token_hex(3)}"
    try:
        install(kube, namespace=namespace, profile=local_profile())
        yield namespace
    finally:
        kube.delete("v1", "Namespace", namespace)
        cluster_objects = [
            obj
            for account in ACCOUNTS
            for obj in account.manifests(namespace)
            if obj["kind"] in ("ClusterRole", "ClusterRoleBinding")
        ]
        for obj in [*cluster_objects, *admission_policy(namespace)]:
            with suppress(NotFound):
                kube.delete(obj["apiVersion"], obj["kind"], obj["metadata"]["name"])


def test_a_selfcheck_runs_its_pod_in_the_connections_namespace(
    seed_kubeconfig: Path, second_install: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = {
        "kube_config_path": str(seed_kubeconfig),
        "namespace": second_install,
        "toolbox_image": TOOLBOX_IMAGE,
    }
    conn = Connection(conn_id=CONN_ID, conn_type="garden", extra=json.dumps(extra))
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", conn.get_uri())
    monkeypatch.setenv("AIRFLOW__GARDEN__KUBERNETES_CONN_ID", CONN_ID)
    monkeypatch.delenv("AIRFLOW__GARDEN__NAMESPACE", raising=False)  # garden-system
    # the connection is the task's from the DAG file; its namespace is read when it runs
    dag = DagBag(dag_folder=str(DAGS / "garden_selfcheck.py")).dags["garden_selfcheck"]
    (task,) = dag.tasks
    assert (task.kubernetes_conn_id, task.namespace) == (CONN_ID, "garden-system")

    assert str(dag.test().state) == "success"

    kube = KubeClient.from_kubeconfig(str(seed_kubeconfig))
    events = kube.raw("GET", f"/api/v1/namespaces/{second_install}/events")["items"]
    pods = {
        e["involvedObject"]["name"]
        for e in events
        if e["involvedObject"].get("kind") == "Pod"
        and e["involvedObject"]["name"].startswith("garden-version-")
    }
    assert pods, f"no garden-version pod ran in {second_install}"
