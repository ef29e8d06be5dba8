"""The derived installation id: stable for one metadata database, distinct between two."""

from __future__ import annotations

import pytest

from airflow_provider_garden.core.installation import derive_instance, instance_problem

PG = "postgresql+psycopg2://airflow:secret@db.example:5432/airflow"


def test_the_same_database_gives_the_same_id_whatever_the_credentials() -> None:
    first = derive_instance(PG)
    assert first == derive_instance("postgresql+psycopg2://airflow:rotated@db.example:5432/airflow")
    assert first == derive_instance(PG + "?sslmode=require")
    assert first.startswith("airflow-")
    assert len(first) == len("airflow-") + 12
    assert instance_problem(first) is None
    assert "secret" not in first


@pytest.mark.parametrize(
    "other",
    [
        "postgresql+psycopg2://airflow:secret@db.example:5432/airflow2",  # another database
        "postgresql+psycopg2://airflow:secret@db2.example:5432/airflow",  # another server
        "postgresql+psycopg2://airflow:secret@db.example:5433/airflow",  # another port
        "sqlite:////root/airflow/airflow.db",
    ],
)
def test_another_database_gives_another_id(other: str) -> None:
    assert derive_instance(other) != derive_instance(PG)


def test_a_malformed_port_still_derives_an_id() -> None:
    assert instance_problem(derive_instance("postgresql://h:port/db")) is None


@pytest.mark.parametrize("value", ["", "-a", "a b", "x" * 64, "a/b"])
def test_ids_must_be_label_values(value: str) -> None:
    assert instance_problem(value) is not None
