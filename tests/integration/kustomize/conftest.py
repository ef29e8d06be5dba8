"""Kustomize tests: the article's example on disk, the agent verb run from the host.

Each test gets a fresh namespace (the shared ``namespace`` fixture) and uses it
as its inventory id, so tests never see each other's inventories.
"""

from __future__ import annotations

import base64
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kustomize_helpers import ARTICLE, Agent

from airflow_provider_garden.agent.shoot_delete import delete
from airflow_provider_garden.agent.shoot_reconcile import reconcile
from airflow_provider_garden.core import naming
from airflow_provider_garden.core.settings import DEFAULT_NAMESPACE
from airflow_provider_garden.core.shoot_resource import to_resource
from airflow_provider_garden.core.shoot_spec import new_spec
from airflow_provider_garden.kube.bootstrap import install
from airflow_provider_garden.kube.dynamic import DynamicClient
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.kube.shoots import Shoots
from airflow_provider_garden.localseed.profile import local_profile

GARDEN_NAMESPACE = DEFAULT_NAMESPACE


@pytest.fixture
def seed(seed_kubeconfig: Path) -> DynamicClient:
    return DynamicClient.from_kubeconfig(str(seed_kubeconfig))


@pytest.fixture
def agent(seed_kubeconfig: Path, namespace: str, seed: DynamicClient) -> Iterator[Agent]:
    yield Agent(seed_kubeconfig, namespace)
    seed.delete_object(
        seed.resource("v1", "ConfigMap"), f"garden-inventory-{namespace}", "kube-system"
    )


@pytest.fixture
def someapp(tmp_path: Path) -> Path:
    """A private copy of the article's base and overlays, free to edit."""
    return Path(shutil.copytree(ARTICLE, tmp_path / "someapp"))


@pytest.fixture(scope="session")
def garden(seed_kubeconfig: Path) -> DynamicClient:
    """The provider installed in the seed: CRD, garden-system, accounts, CloudProfile."""
    kube = DynamicClient.from_kubeconfig(str(seed_kubeconfig))
    install(kube, namespace=GARDEN_NAMESPACE, profile=local_profile())
    return kube


@pytest.fixture(scope="session")
def airflow_db(airflow_seed_connection: None) -> None:
    """Airflow's `kubernetes_default` pointed at the seed, and its database migrated
    (the integration suite's fixture; kept under this name for these tests)."""


@pytest.fixture
def dags_folder(tmp_path: Path, airflow_db: None, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DAG bundle of this test's own (dag.test() runs only DAGs of a bundle)."""
    folder = tmp_path / "dags"
    shutil.copytree(ARTICLE, folder / "someapp")
    bundle = {
        "name": "kustomize-tests",
        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
        "kwargs": {"path": str(folder)},
    }
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([bundle]))
    return folder


@pytest.fixture(scope="module")
def shoot(garden: DynamicClient) -> Iterator[tuple[str, str]]:
    """A shoot of this module's own, reconciled by the agent code from the host."""
    project, name = "kustomize", f"s{uuid.uuid4().hex[:6]}"
    shoots = Shoots(garden)
    spec = new_spec(project, name, local_profile().kubernetes_versions[0])
    resource = to_resource(spec, api_version=SHOOT_API_VERSION)
    garden.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": naming.project_namespace(project)},
        }
    )
    shoots.apply(resource)
    reconcile(
        garden,
        shoots,
        project,
        name,
        holder="kustomize-tests",
        garden_namespace=DEFAULT_NAMESPACE,
    )
    yield project, name
    delete(garden, shoots, project, name, holder="kustomize-tests")


@pytest.fixture
def shoot_kubeconfig(garden: DynamicClient, shoot: tuple[str, str], tmp_path: Path) -> Path:
    """The shoot's admin kubeconfig as the host reaches it."""
    project, name = shoot
    secret = garden.get(
        "v1", "Secret", naming.kubeconfig_secret(name), naming.project_namespace(project)
    )
    path = tmp_path / "shoot.kubeconfig"
    path.write_bytes(base64.b64decode(secret["data"]["kubeconfig-external"]))
    path.chmod(0o600)
    return path
