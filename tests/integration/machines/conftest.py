"""Machine tests: the provider installed in the local seed, a fresh shoot per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from machines_helpers import Shoot, create_shoot, delete_shoot

from airflow_provider_garden.kube.bootstrap import install
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.localseed.profile import local_profile

GARDEN_NAMESPACE = "garden-system"


@pytest.fixture(scope="session")
def garden(seed_kubeconfig: Path) -> KubeClient:
    """The provider installed in the seed: CRD, garden-system, accounts, CloudProfile."""
    kube = KubeClient.from_kubeconfig(str(seed_kubeconfig))
    install(kube, namespace=GARDEN_NAMESPACE, profile=local_profile())
    return kube


@pytest.fixture
def make_shoot(garden: KubeClient) -> Iterator[Callable[..., Shoot]]:
    """Create shoots with a Ready pool (``machines=N``, ``never_ready=version``); delete after."""
    made: list[Shoot] = []

    def make(**kwargs: object) -> Shoot:
        shoot = create_shoot(garden, f"m{uuid.uuid4().hex[:6]}", **kwargs)  # type: ignore[arg-type]
        made.append(shoot)
        return shoot

    yield make
    for shoot in made:
        delete_shoot(shoot)
