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
    return [f"{ENV}: fault switches ON, tests are meant to fail: {', '.join(on)}"] if on else []
