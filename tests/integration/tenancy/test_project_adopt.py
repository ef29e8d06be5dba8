"""`garden projects adopt`: an install from before Projects has shoots in garden-<p>
namespaces and no Project; every operator would refuse them. Adopting makes the
Project (owner and members as given) and labels the namespace; a dry run writes nothing."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_garden.cli.main import main as garden_cli
from airflow_provider_garden.core import naming
from airflow_provider_garden.core.project import Member, Role
from airflow_provider_garden.core.settings import DEFAULTS
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.projects import PROJECT_API_VERSION, PROJECT_LABEL, Projects
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION

pytestmark = pytest.mark.integration


@pytest.fixture
def legacy(seed: KubeClient) -> Iterator[str]:
    """A namespace with a Shoot and no Project, as a pre-Projects install left it."""
    name = f"legacy-{secrets.token_hex(3)}"
    namespace = naming.project_namespace(name)
    seed.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    seed.apply(
        {
            "apiVersion": SHOOT_API_VERSION,
            "kind": "Shoot",
            "metadata": {"name": "old", "namespace": namespace},
            "spec": {"kubernetes": {"version": "1.32.13"}},
        }
    )
    yield name
    seed.delete("v1", "Namespace", namespace)
    seed.delete(PROJECT_API_VERSION, "Project", name)


def test_adopt_makes_the_missing_project_once(
    seed: KubeClient, seed_kubeconfig: Path, legacy: str, capsys: pytest.CaptureFixture[str]
) -> None:
    adopt = ["--kubeconfig", str(seed_kubeconfig), "projects", "adopt", legacy]
    adopt += ["--owner", "olga", "--viewer", "vic"]

    assert garden_cli([*adopt, "--dry-run"]) == 0
    assert f"would adopt project {legacy} (1 shoot(s)): owner olga" in capsys.readouterr().out
    assert seed.find(PROJECT_API_VERSION, "Project", legacy) is None

    assert garden_cli(adopt) == 0
    assert f"adopted project {legacy} (1 shoot(s)): owner olga" in capsys.readouterr().out
    project = Projects(seed, provider_namespace=DEFAULTS.namespace).find(legacy)
    assert project is not None
    assert project.members == (Member("olga", Role.ADMIN), Member("vic", Role.VIEWER))
    namespace = seed.get("v1", "Namespace", naming.project_namespace(legacy))
    assert namespace["metadata"]["labels"][PROJECT_LABEL] == legacy

    assert garden_cli(adopt) == 0
    assert "every namespace with shoots has its Project" in capsys.readouterr().out
