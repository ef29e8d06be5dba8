"""Every bundled DAG loads and carries the defaults users rely on (REQUIREMENTS 13)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

DAGS = Path(__file__).resolve().parents[3] / "dags"
BUNDLED = sorted(p.stem for p in DAGS.glob("garden_*.py"))


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag: DagBag) -> None:
    assert dagbag.import_errors == {}


def test_every_bundled_file_defines_its_dag(dagbag: DagBag) -> None:
    assert BUNDLED, "no bundled DAGs found"
    assert sorted(dagbag.dag_ids) == BUNDLED


@pytest.mark.parametrize("dag_id", BUNDLED)
def test_bundled_dag_defaults(dagbag: DagBag, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    assert len((dag.doc_md or "").strip()) > 40
    assert "garden" in (dag.tags or [])
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert isinstance(dag.dagrun_timeout, timedelta)
    assert dag.timezone.name == "UTC"
