"""Kustomize tests: the article's example on disk, the agent verb run from the host.

Each test gets a fresh namespace (the shared ``namespace`` fixture) and uses it
as its inventory id, so tests never see each other's inventories.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from kustomize_helpers import ARTICLE, Agent

from airflow_provider_garden.kube.dynamic import DynamicClient


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
