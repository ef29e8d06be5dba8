from __future__ import annotations

from airflow_provider_garden.localseed.airflow_image import AIRFLOW_VERSION, constraints_text


def test_constraints_pin_this_environment_without_the_provider() -> None:
    lines = constraints_text().splitlines()
    assert f"apache-airflow=={AIRFLOW_VERSION}" in lines
    assert not [line for line in lines if line.startswith("airflow-provider-garden==")]
    names = [line.split("==")[0] for line in lines if not line.startswith("#")]
    assert names == sorted(set(names))
