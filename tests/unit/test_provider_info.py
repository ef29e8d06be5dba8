from __future__ import annotations

import importlib
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

from airflow_provider_garden.get_provider_info import get_provider_info


def test_entry_point_resolves_to_get_provider_info() -> None:
    (ep,) = [
        e
        for e in entry_points(group="apache_airflow_provider")
        if e.value.startswith("airflow_provider_garden")
    ]
    assert ep.load() is get_provider_info


def test_package_name_equals_distribution_name() -> None:
    # Airflow refuses to load a provider whose package-name differs from its distribution.
    assert get_provider_info()["package-name"] == "airflow-provider-garden"


def test_every_listed_class_imports() -> None:
    info = get_provider_info()
    paths = [
        p
        for section in ("operators", "sensors", "hooks", "triggers")
        for item in info.get(section, [])
        for p in item.get("python-modules", [])
    ]
    paths += [h["hook-class-name"].rsplit(".", 1)[0] for h in info.get("connection-types", [])]
    for module in paths:
        importlib.import_module(module)


def test_airflow_providers_list_shows_the_provider() -> None:
    airflow = Path(sys.executable).with_name("airflow")
    out = subprocess.run(
        [str(airflow), "providers", "list", "--output", "plain"],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
        timeout=120,
    )
    assert "airflow-provider-garden" in out.stdout


def test_config_section_defaults_reach_airflow_conf() -> None:
    from airflow.configuration import conf

    assert conf.get("garden", "namespace") == "garden-system"
