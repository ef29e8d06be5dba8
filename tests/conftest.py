"""Test-wide settings: Airflow reads its home and DAG folder from the environment."""

from __future__ import annotations

import os
from pathlib import Path

import budget  # tests/budget.py: this directory is on sys.path for its conftest
import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("AIRFLOW_HOME", str(ROOT / ".airflow"))
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "dags"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


def pytest_configure(config: pytest.Config) -> None:
    from faults import active_faults

    active_faults()  # an unknown GARDEN_TEST_FAULT switch stops the run here, named
    # `make test` (tests/budget.py) asks for per-module durations through the environment.
    budget.register(config)


def pytest_report_header(config: object) -> list[str]:
    from faults import ENV, active_faults

    on = sorted(active_faults())
    lines = [f"{ENV}: fault switches ON, tests are meant to fail: {', '.join(on)}"] if on else []
    lane = os.environ.get("GARDEN_TEST_LANE")  # tests/lanes.py
    if lane:
        lines.append(f"integration lane {lane}: AIRFLOW_HOME={os.environ['AIRFLOW_HOME']}")
    return lines


LONG_MARK = "long"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Soaks and matrices beyond the budget of `make test` run only when selected
    # (`-m long`, as `make test-long` does); pytest reports them as deselected otherwise.
    if LONG_MARK in (config.option.markexpr or ""):
        return
    long = [item for item in items if item.get_closest_marker(LONG_MARK)]
    if long:
        config.hook.pytest_deselected(items=long)
        items[:] = [item for item in items if item not in long]
