from __future__ import annotations

import re

from airflow_provider_garden.localseed.airflow_image import AIRFLOW_VERSION, constraints_text
from airflow_provider_garden.localseed.images import docker_dir


def _arg_default(dockerfile: str, name: str) -> str | None:
    match = re.search(rf"^ARG {name}=(\S+)$", dockerfile, re.MULTILINE)
    return match[1] if match else None


def test_dockerfiles_pin_the_airflow_version_the_build_uses() -> None:
    airflow = (docker_dir() / "airflow" / "Dockerfile").read_text()
    standin = (docker_dir() / "airflow-standin" / "Dockerfile").read_text()
    assert _arg_default(airflow, "BASE_IMAGE") == f"apache/airflow:{AIRFLOW_VERSION}"
    assert _arg_default(airflow, "AIRFLOW_VERSION") == AIRFLOW_VERSION
    assert _arg_default(standin, "VERSION") == AIRFLOW_VERSION


def test_constraints_pin_this_environment_without_the_provider() -> None:
    lines = constraints_text().splitlines()
    assert f"apache-airflow=={AIRFLOW_VERSION}" in lines
    assert not [line for line in lines if line.startswith("airflow-provider-garden==")]
    names = [line.split("==")[0] for line in lines if not line.startswith("#")]
    assert names == sorted(set(names))
