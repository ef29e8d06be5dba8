"""A non-default ``[garden] namespace``: provision, backup and maintenance run green in it.

The provider's cluster objects are installed into a namespace of this test's own
(`garden install --namespace`), Airflow is told so through
``AIRFLOW__GARDEN__NAMESPACE``, and the bundled DAGs run with ``dag.test()``. What
proves the setting was followed, not just that the DAGs passed: the operator pods'
events are in that namespace, and the shoot's etcd account is bound to that
install's role (the reconcile agent got the namespace on its command line).
Everything the test made, namespaced or cluster-wide, is removed afterwards.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from garden_projects import ensure_projects

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.seed_policy import admission_policy
from airflow_provider_garden.kube.bootstrap import install
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.errors import NotFound
from airflow_provider_garden.kube.projects import PROJECT_API_VERSION
from airflow_provider_garden.kube.rbac import ACCOUNTS
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.localseed.profile import local_profile

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("airflow_seed_connection")]
DAGS = Path(__file__).resolve().parents[3] / "dags"
OLD, NEW = "1.32.11", "1.32.13"  # maintenance moves an expired OLD to NEW
WINDOW = {"begin": "090000+0000", "end": "100000+0000"}
IN_WINDOW = dt.datetime(2026, 12, 2, 9, 30, tzinfo=dt.UTC)
SHOOT = "alt"


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


class Alt:
    def __init__(self, kube: KubeClient, namespace: str, project: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.project = project
        self.dags: dict[str, Any] = {}

    def shoot(self) -> dict[str, Any]:
        return self.kube.get(
            SHOOT_API_VERSION, "Shoot", SHOOT, naming.project_namespace(self.project)
        )

    def run(self, dag_id: str, **kwargs: Any) -> str:
        return str(self.dags[dag_id].test(**kwargs).state)

    def pods_seen(self, prefix: str) -> set[str]:
        """Pods named `prefix-...` that the namespace's events mention."""
        events = self.kube.raw("GET", f"/api/v1/namespaces/{self.namespace}/events")["items"]
        return {
            e["involvedObject"]["name"]
            for e in events
            if e["involvedObject"].get("kind") == "Pod"
            and e["involvedObject"]["name"].startswith(f"{prefix}-")
        }


@pytest.fixture(scope="module")
def alt(seed_kubeconfig: Path) -> Iterator[Alt]:
    kube = KubeClient.from_kubeconfig(str(seed_kubeconfig))
    env = pytest.MonkeyPatch()
    a = Alt(kube, unique("garden-alt"), unique("nsalt"))
    try:
        install(kube, namespace=a.namespace, profile=local_profile())
        ensure_projects(kube, (a.project,), provider_namespace=a.namespace)
        env.setenv("AIRFLOW__GARDEN__NAMESPACE", a.namespace)
        # Operators take their defaults when the DAG files are parsed: parse after the setting.
        a.dags = DagBag(dag_folder=str(DAGS)).dags
        yield a
    finally:
        try:
            if a.dags:
                confirm = f"{a.project}/{SHOOT}"
                a.run(
                    "garden_teardown",
                    run_conf={"project": a.project, "name": SHOOT, "confirm": confirm},
                )
        finally:
            env.undo()
            _remove(kube, a)


def _remove(kube: KubeClient, a: Alt) -> None:
    """The shoot's project (namespace and Project), the install's namespace and its
    cluster-wide roles and admission policy."""
    for ns in (
        naming.controlplane_namespace(a.project, SHOOT),
        naming.project_namespace(a.project),
        a.namespace,
    ):
        kube.delete("v1", "Namespace", ns)
    kube.delete(PROJECT_API_VERSION, "Project", a.project)  # cluster-scoped: not with them
    cluster_objects = [
        obj
        for account in ACCOUNTS
        for obj in account.manifests(a.namespace)
        if obj["kind"] in ("ClusterRole", "ClusterRoleBinding")
    ]
    for obj in [*cluster_objects, *admission_policy(a.namespace)]:
        with suppress(NotFound):
            kube.delete(obj["apiVersion"], obj["kind"], obj["metadata"]["name"])
    kube.wait_for(
        f"namespace {a.namespace} to go",
        lambda: kube.find("v1", "Namespace", a.namespace) is None,
        timeout=180,
        interval=2,
    )


@pytest.fixture(scope="module")
def provisioned(alt: Alt) -> Alt:
    state = alt.run(
        "garden_provision",
        run_conf={
            "project": alt.project,
            "name": SHOOT,
            "kubernetes_version": OLD,
            "maintenance_window": WINDOW,
        },
    )
    assert state == "success"
    return alt


def test_provision_runs_its_pods_in_the_configured_namespace(provisioned: Alt) -> None:
    a = provisioned
    status = a.shoot()["status"]
    assert status["lastOperation"]["state"] == "Succeeded"
    assert status["lastBackup"]["snapshot"]  # garden_provision takes the first backup
    assert a.pods_seen("garden-shoot-reconcile"), f"no reconcile pod ran in {a.namespace}"
    # The agent bound the shoot's etcd account to this install's role, not garden-system's.
    binding = a.kube.get(
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        "garden-etcd",
        naming.controlplane_namespace(a.project, SHOOT),
    )
    assert binding["roleRef"]["name"] == f"{a.namespace}:garden-etcd"


def test_backup_runs_green_in_the_configured_namespace(provisioned: Alt) -> None:
    a = provisioned
    before = a.shoot()["status"]["lastBackup"]
    assert a.run("garden_backup", run_conf={"only": [f"{a.project}/{SHOOT}"]}) == "success"
    after = a.shoot()["status"]["lastBackup"]
    assert after["snapshot"] != before["snapshot"]


def test_maintenance_runs_green_in_the_configured_namespace(provisioned: Alt) -> None:
    a = provisioned
    only = [f"{a.project}/{SHOOT}"]  # the seed's other shoots are not this test's
    assert a.run("garden_maintenance", logical_date=IN_WINDOW, run_conf={"only": only}) == "success"
    shoot = a.shoot()
    assert shoot["spec"]["kubernetes"]["version"] == NEW
    assert shoot["status"]["kubernetesVersion"] == "v" + NEW
    assert shoot["status"]["lastMaintenance"]["state"] == "Succeeded"
    # the maintenance reconcile read the CloudProfile of this install and ran its pod here
    assert len(a.pods_seen("garden-shoot-reconcile")) >= 2
