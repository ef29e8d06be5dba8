"""[garden] as Airflow reads it becomes the settings every operator and the agent start from."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from airflow_provider_garden.agent import main as agent_main
from airflow_provider_garden.core.installation import derive_instance
from airflow_provider_garden.core.settings import OPTIONS, GardenSettings
from airflow_provider_garden.get_provider_info import get_provider_info
from airflow_provider_garden.hooks.settings import garden_settings
from airflow_provider_garden.operators.kustomize import KustomizeApplyOperator
from airflow_provider_garden.operators.machines import MachineRolloutOperator
from airflow_provider_garden.operators.pod import INSTANCE_LABEL, AgentPodOperator
from airflow_provider_garden.sensors.shoot import ShootReadySensor

ARTICLE = Path(__file__).parents[2] / "integration" / "kustomize" / "someapp"


class _Check(AgentPodOperator):
    verb = ("check", "it")


@pytest.fixture
def fleet_ops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__GARDEN__NAMESPACE", "fleet-ops")
    monkeypatch.setenv("AIRFLOW__GARDEN__KUBERNETES_CONN_ID", "seed_b")
    monkeypatch.setenv("AIRFLOW__GARDEN__STARTUP_TIMEOUT_SECONDS", "45")
    monkeypatch.setenv("AIRFLOW__GARDEN__DRAIN_TIMEOUT_SECONDS", "600")
    monkeypatch.setenv("AIRFLOW__GARDEN__KUSTOMIZE_WAIT_TIMEOUT_SECONDS", "0")
    monkeypatch.setenv("AIRFLOW__GARDEN__SHOOT_READY_TIMEOUT_SECONDS", "90")


def test_unset_section_gives_the_defaults_and_an_instance_from_the_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "postgresql://airflow:pw@db.example:5432/airflow"
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", url)
    assert garden_settings() == dataclasses.replace(GardenSettings(), instance=derive_instance(url))


def test_a_configured_instance_is_kept_and_labels_every_pod(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW__GARDEN__INSTANCE", "team-b-airflow")
    assert garden_settings().instance == "team-b-airflow"
    labels = _Check(task_id="t", labels={INSTANCE_LABEL: "forged"}).labels
    assert labels[INSTANCE_LABEL] == "team-b-airflow"  # a DAG's labels cannot change whose it is


@pytest.mark.usefixtures("fleet_ops")
def test_environment_reaches_the_settings() -> None:
    s = garden_settings()
    assert (s.namespace, s.kubernetes_conn_id) == ("fleet-ops", "seed_b")
    assert s.startup_timeout == dt.timedelta(seconds=45)
    assert s.drain_timeout == dt.timedelta(minutes=10)
    assert s.kustomize_wait_timeout == dt.timedelta(0)


@pytest.mark.usefixtures("fleet_ops")
def test_operator_defaults_and_the_agent_command_come_from_the_settings() -> None:
    task = _Check(task_id="t", agent_args=["--x", "1"])
    assert (task.namespace, task.kubernetes_conn_id) == ("fleet-ops", "seed_b")
    assert task.startup_timeout_seconds == 45
    assert task.arguments == ["--garden-namespace", "fleet-ops", "check", "it", "--x", "1"]
    # what the DAG author passes still wins
    assert _Check(task_id="u", namespace="elsewhere").namespace == "elsewhere"


@pytest.mark.usefixtures("fleet_ops")
def test_domain_operators_and_sensors_default_from_the_settings() -> None:
    apply = KustomizeApplyOperator(task_id="a", inventory_id="x", source_path=str(ARTICLE))
    args = apply.arguments
    assert args[args.index("--inventory-namespace") + 1] == "fleet-ops"
    assert args[args.index("--wait-timeout") + 1] == "0.0"
    roll = MachineRolloutOperator(task_id="r", project="p", name="n", worker_pool="w")
    assert roll.drain_timeout == 600
    assert roll.creation_timeout == GardenSettings().machine_creation_timeout.total_seconds()
    sensor = ShootReadySensor(task_id="s", project="p", name="n")
    assert (sensor.timeout, sensor.kubernetes_conn_id) == (90, "seed_b")


def test_a_bad_value_names_the_option(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__GARDEN__DRAIN_TIMEOUT_SECONDS", "an hour")
    with pytest.raises(ValueError, match=r"\[garden\] drain_timeout_seconds: must be a number"):
        garden_settings()


def test_airflow_declares_the_section_from_the_settings() -> None:
    options = get_provider_info()["config"]["garden"]["options"]
    assert {k: v["default"] for k, v in options.items()} == {o.key: o.default for o in OPTIONS}
    assert {k: v["description"] for k, v in options.items()} == {o.key: o.doc for o in OPTIONS}


def test_the_agent_refuses_a_reconcile_without_the_namespace(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stop:
        agent_main.main(["shoot", "reconcile", "--project", "p", "--name", "n"])
    assert stop.value.code == 2
    assert "--garden-namespace is required by this verb" in capsys.readouterr().err
