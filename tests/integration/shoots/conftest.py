"""Shoot tests: the provider installed in the local seed, Airflow pointed at it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_garden.kube.bootstrap import install
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.localseed.profile import local_profile

GARDEN_NAMESPACE = "garden-system"


@pytest.fixture(scope="session")
def seed(seed_kubeconfig: Path) -> KubeClient:
    kube = KubeClient.from_kubeconfig(str(seed_kubeconfig))
    install(kube, namespace=GARDEN_NAMESPACE, profile=local_profile())
    return kube


@pytest.fixture(scope="session")
def airflow_seed_connection(seed_kubeconfig: Path) -> Iterator[None]:
    """Point Airflow's `kubernetes_default` at the seed and make sure its DB exists."""
    conn = json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": str(seed_kubeconfig)}}
    )
    os.environ["AIRFLOW_CONN_KUBERNETES_DEFAULT"] = conn
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, timeout=600)
    yield
    os.environ.pop("AIRFLOW_CONN_KUBERNETES_DEFAULT", None)
