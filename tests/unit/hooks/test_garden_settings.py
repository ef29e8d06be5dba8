"""[garden] as Airflow reads it becomes the settings every operator and the agent start from."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_garden.agent import main as agent_main
from airflow_provider_garden.core.installation import derive_instance
from airflow_provider_garden.core.settings import OPTIONS, GardenSettings
from airflow_provider_garden.core.spec_fields import SpecError
from airflow_provider_garden.get_provider_info import get_provider_info
from airflow_provider_garden.hooks.settings import garden_settings
from airflow_provider_garden.operators.confirm import require_typed_confirmation
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


# --- a garden connection's seed settings, taken when the task runs -----------------------


@pytest.fixture
def seed_b(fleet_ops: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """`[garden]` says fleet-ops through connection seed_b, a garden connection of its own seed."""
    extra = {"kube_config_path": "/k", "namespace": "fleet-b", "toolbox_image": "reg/toolbox:b"}
    monkeypatch.setenv("AIRFLOW_CONN_SEED_B", json.dumps({"conn_type": "garden", "extra": extra}))


@pytest.mark.usefixtures("seed_b")
def test_a_garden_connection_sets_the_pods_namespace_image_and_agent_namespace() -> None:
    task = _Check(task_id="t", agent_args=["--x", "1"])
    # nothing is read while the DAG is parsed: [garden] until the task runs
    assert (task.namespace, task.arguments[1]) == ("fleet-ops", "fleet-ops")
    task.use_seed_settings()
    assert (task.namespace, task.image) == ("fleet-b", "reg/toolbox:b")
    assert task.arguments == ["--garden-namespace", "fleet-b", "check", "it", "--x", "1"]
    assert (task.settings.namespace, task.settings.toolbox_image) == ("fleet-b", "reg/toolbox:b")
    assert task.settings.startup_timeout == dt.timedelta(seconds=45)  # still [garden]'s
    assert task.agent_command("v") == ["--garden-namespace", "fleet-b", "check", "it", "v"]


@pytest.mark.usefixtures("seed_b")
def test_what_the_dag_passes_still_wins_over_the_connection() -> None:
    task = _Check(task_id="t", namespace="elsewhere")
    task.use_seed_settings()
    assert (task.namespace, task.image) == ("elsewhere", "reg/toolbox:b")
    assert task.arguments[:2] == ["--garden-namespace", "fleet-b"]  # the provider's namespace


@pytest.mark.usefixtures("fleet_ops")
def test_a_kubernetes_connection_leaves_the_section(monkeypatch: pytest.MonkeyPatch) -> None:
    body = {"conn_type": "kubernetes", "extra": {"kube_config_path": "/k", "namespace": "x"}}
    monkeypatch.setenv("AIRFLOW_CONN_SEED_B", json.dumps(body))
    task = _Check(task_id="t")
    task.use_seed_settings()
    assert (task.namespace, task.arguments[1], task.settings.namespace) == ("fleet-ops",) * 3


@pytest.mark.usefixtures("seed_b")
def test_a_task_judges_its_projects_by_its_seeds_namespace() -> None:
    class _OnProject(_Check):
        def projects(self) -> list[tuple[str, object]]:
            return [("project", "b")]  # garden-b is no provider namespace under [garden]...

    _OnProject(task_id="ok").check_projects()
    task = _OnProject(task_id="t", kubernetes_conn_id="seed_b")
    body = {"conn_type": "garden", "extra": {"namespace": "garden-b"}}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_CONN_SEED_B", json.dumps(body))
        # ... but is seed_b's: execute refuses it before anything is read from the seed
        with pytest.raises(SpecError, match="garden-b"):
            task.execute(context={})  # type: ignore[arg-type]


@pytest.mark.usefixtures("seed_b")
def test_a_seed_kustomize_keeps_its_inventory_in_the_connections_namespace() -> None:
    apply = KustomizeApplyOperator(
        task_id="a", inventory_id="x", git_url="https://example.invalid/r.git", git_ref="main"
    )
    apply.use_seed_settings()
    apply.before_pod(context={})  # type: ignore[arg-type]
    args = apply.arguments
    assert args[args.index("--inventory-namespace") + 1] == "fleet-b"
    assert apply.namespace == "fleet-b"


@pytest.mark.usefixtures("fleet_ops")
def test_teardowns_confirmation_reserves_the_seeds_own_namespace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    params = {"project": "b", "name": "s", "confirm": "b/s"}
    kubernetes = {"conn_type": "kubernetes", "extra": {"namespace": "garden-b"}}
    monkeypatch.setenv("AIRFLOW_CONN_SEED_B", json.dumps(kubernetes))
    assert require_typed_confirmation(params, "delete") == ("b", "s")
    body = {"conn_type": "garden", "extra": {"namespace": "garden-b"}}
    monkeypatch.setenv("AIRFLOW_CONN_SEED_B", json.dumps(body))
    with pytest.raises(AirflowFailException, match="garden-b"):
        require_typed_confirmation(params, "delete")
