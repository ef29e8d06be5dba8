"""Every consumer of the Airflow version takes it from airflow_provider_garden/pins.txt."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from airflow_provider_garden.localseed.airflow_image import AIRFLOW_VERSION, STANDIN_REF, _airflow
from airflow_provider_garden.localseed.images import docker_dir
from airflow_provider_garden.pins import pinned, pins

REPO = Path(__file__).resolve().parents[2]


def _requirements() -> dict[str, Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    parsed = [Requirement(line) for line in project["dependencies"]]
    return {r.name.lower(): r for r in parsed}


@pytest.mark.parametrize("name", sorted(pins()))
def test_the_venv_runs_the_pinned_version(name: str) -> None:
    # `make venv` installs with --constraint pins.txt; a venv made otherwise drifts.
    assert metadata.version(name) == pinned(name), f"run `make venv`: {name} is not as pinned"


@pytest.mark.parametrize("name", sorted(pins()))
def test_pyproject_allows_the_pinned_version(name: str) -> None:
    requirement = _requirements()[name]
    assert requirement.specifier.contains(pinned(name)), f"{requirement} excludes the pin"


def test_cncf_kubernetes_is_capped_below_its_next_major() -> None:
    name = "apache-airflow-providers-cncf-kubernetes"
    specifier = _requirements()[name].specifier
    next_major = Version(pinned(name)).major + 1
    assert not specifier.contains(f"{next_major}.0.0")
    assert not specifier.contains(f"{next_major}.0.0rc1", prereleases=True)


def test_images_take_the_pinned_airflow() -> None:
    assert pinned("apache-airflow") == AIRFLOW_VERSION
    assert STANDIN_REF.endswith(f":{AIRFLOW_VERSION}")  # the stand-in's VERSION build arg
    assert ("AIRFLOW_VERSION", AIRFLOW_VERSION) in _airflow(REPO).build_args


def _arg_default(dockerfile: Path, name: str) -> str:
    match = re.search(rf"^ARG {name}=(\S+)$", dockerfile.read_text(), re.MULTILINE)
    assert match, f"{dockerfile}: no `ARG {name}=<default>`"
    return match[1]


def test_dockerfile_defaults_for_builds_by_hand_match_the_pin() -> None:
    version = pinned("apache-airflow")
    airflow = docker_dir() / "airflow" / "Dockerfile"
    assert _arg_default(airflow, "BASE_IMAGE") == f"apache/airflow:{version}"
    assert _arg_default(airflow, "AIRFLOW_VERSION") == version
    assert _arg_default(docker_dir() / "airflow-standin" / "Dockerfile", "VERSION") == version


def test_install_docs_name_the_pinned_airflow() -> None:
    text = (REPO / "docs" / "install.md").read_text()
    named = set(re.findall(r"apache/airflow:(\d[\w.]*)", text))
    named |= set(re.findall(r"apache-airflow==(\d[\w.]*)", text))
    named |= set(re.findall(r"reports Airflow (\d[\w.]*\d)", text))
    assert named == {pinned("apache-airflow")}
