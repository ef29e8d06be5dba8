"""The chart's copies of what the code defines, and values.yaml beside its schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_provider_garden import __version__
from airflow_provider_garden.cli.packaging import (
    crd_texts,
    generated_files,
    package_crd_path,
)
from airflow_provider_garden.core.crds import CRDS
from airflow_provider_garden.kube.bootstrap import crds
from airflow_provider_garden.localseed import versions
from airflow_provider_garden.localseed.profile import MACHINE_IMAGES


@pytest.mark.parametrize("name", sorted(generated_files()))
def test_generated_file_matches_the_code(chart: Path, name: str) -> None:
    on_disk = chart / name
    text = on_disk.read_text() if on_disk.exists() else None
    assert text == generated_files()[name], (
        f"{on_disk} differs from the code it is generated from: run "
        "`python -m airflow_provider_garden.cli.packaging chart-sync` and commit the result"
    )


def test_packaged_crd_is_generated_from_the_schema() -> None:
    """`garden install` applies kube/crds/: the same bytes `chart-sync` writes."""
    for name, text in crd_texts().items():
        assert package_crd_path(name).read_text() == text, (
            f"{package_crd_path(name)} differs from the code it is generated from: run "
            "`python -m airflow_provider_garden.cli.packaging chart-sync` and commit the result"
        )
    assert crds() == [crd.manifest() for crd in CRDS]


def test_chart_and_app_version_follow_the_package(chart: Path) -> None:
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    assert (meta["version"], meta["appVersion"]) == (__version__, __version__)


def test_default_cloud_profile_offers_what_the_provider_is_tested_with(chart: Path) -> None:
    profile = yaml.safe_load((chart / "values.yaml").read_text())["cloudProfile"]
    tested = [v.removeprefix("v") for v in versions.SHOOT_KUBERNETES_VERSIONS]
    assert profile["kubernetesVersions"] == tested
    assert profile["machineImages"] == {k: list(v) for k, v in MACHINE_IMAGES.items()}


def _value_paths(values: dict[str, Any], prefix: str = "") -> set[str]:
    paths = set()
    for key, value in values.items():
        path = f"{prefix}{key}"
        paths.add(path)
        if isinstance(value, dict) and value and not _free_form(path):
            paths |= _value_paths(value, f"{path}.")
    return paths


# Maps whose keys are the user's (image names, labels): the schema types their
# values instead of listing keys.
def _free_form(path: str) -> bool:
    return path in {"cloudProfile.machineImages", "commonLabels"}


def _schema_paths(schema: dict[str, Any], prefix: str = "") -> set[str]:
    paths = set()
    for key, sub in schema.get("properties", {}).items():
        path = f"{prefix}{key}"
        paths.add(path)
        if not _free_form(path):
            paths |= _schema_paths(sub, f"{path}.")
    return paths


def test_values_and_schema_list_the_same_keys(chart: Path) -> None:
    values = yaml.safe_load((chart / "values.yaml").read_text())
    schema = json.loads((chart / "values.schema.json").read_text())
    in_values, in_schema = _value_paths(values), _schema_paths(schema) - {"global"}
    assert in_values - in_schema == set(), "in values.yaml only: add them to values.schema.json"
    assert in_schema - in_values == set(), "in values.schema.json only: add them to values.yaml"
