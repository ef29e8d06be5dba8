"""The `garden` connection type: declared in the provider metadata as Airflow 3 reads it,
its seed fields replacing `[garden]`'s, and the Test button's verdict."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import airflow
import jsonschema
import pytest

from airflow_provider_garden.core.settings import CONNECTION_FIELDS, OPTIONS, GardenSettings
from airflow_provider_garden.get_provider_info import get_provider_info
from airflow_provider_garden.hooks.garden import GardenHook
from airflow_provider_garden.kube.errors import NotFound
from airflow_provider_garden.kube.seed_check import check_seed

SCHEMAS = Path(airflow.__file__).parent


def _conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, conn_type: str, **extra: Any) -> None:
    body = {"conn_type": conn_type, "extra": extra}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(body))


def _garden_type() -> dict[str, Any]:
    (declared,) = get_provider_info()["connection-types"]
    assert isinstance(declared, dict)
    return declared


# --- the metadata ------------------------------------------------------------


def test_provider_info_passes_airflows_own_schemas() -> None:
    info = get_provider_info()
    runtime = json.loads((SCHEMAS / "provider_info.schema.json").read_text())
    jsonschema.validate(info, runtime)
    # provider.yaml's schema is the one that knows conn-fields and ui-field-behaviour
    yaml_schema = json.loads((SCHEMAS / "provider.yaml.schema.json").read_text())
    jsonschema.validate(info["connection-types"], yaml_schema["properties"]["connection-types"])


def test_airflow_lists_the_type_its_form_and_its_hook() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    widgets = manager.connection_form_widgets
    fields = {k.removeprefix("extra__garden__") for k in widgets if k.startswith("extra__garden__")}
    assert fields == {"in_cluster", "kube_config_path", "kube_config", "cluster_context"} | set(
        CONNECTION_FIELDS
    )
    assert widgets["extra__garden__kube_config"].is_sensitive
    assert "host" in manager.field_behaviours["garden"]["hidden_fields"]
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    hook = ProvidersManagerTaskRuntime().hooks["garden"]
    assert hook is not None
    assert (hook.hook_class_name, hook.connection_id_attribute_name) == (
        "airflow_provider_garden.hooks.garden.GardenHook",
        "kubernetes_conn_id",
    )


def test_the_seed_fields_are_the_settings_a_connection_may_set() -> None:
    fields = _garden_type()["conn-fields"]
    keys = {o.field: o.key for o in OPTIONS}
    for name in CONNECTION_FIELDS:
        assert fields[name]["description"].startswith(f"Empty: [garden] {keys[name]}.")
    pattern = re.compile(fields["namespace"]["schema"]["pattern"])
    for name in ("garden-system", "fleet-b", "", "Fleet_B", "-x"):
        accepted = bool(pattern.match(name)) and len(name) <= 63
        refused_by_settings = name != "" and _refused(name)
        assert accepted == (not refused_by_settings), name


def _refused(namespace: str) -> bool:
    try:
        GardenSettings().for_connection("c", {"namespace": namespace})
    except ValueError:
        return True
    return False


# --- settings per connection -------------------------------------------------------------


def test_a_garden_connection_sets_namespace_and_image_of_its_seed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW__GARDEN__NAMESPACE", "ops")
    _conn(monkeypatch, "seed_b", "garden", namespace="fleet-b", toolbox_image="reg/t:2")
    settings = GardenHook("seed_b").settings
    assert (settings.kubernetes_conn_id, settings.namespace, settings.toolbox_image) == (
        "seed_b",
        "fleet-b",
        "reg/t:2",
    )


def test_a_kubernetes_connection_keeps_the_section_and_says_its_namespace_is_ignored(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AIRFLOW__GARDEN__NAMESPACE", "ops")
    monkeypatch.setenv("AIRFLOW__GARDEN__KUBERNETES_CONN_ID", "old")
    _conn(monkeypatch, "old", "kubernetes", kube_config_path="/k", namespace="default")
    with caplog.at_level(logging.WARNING):
        settings = GardenHook().settings
    assert (settings.kubernetes_conn_id, settings.namespace) == ("old", "ops")
    assert "names namespace 'default'" in caplog.text


def test_a_missing_default_connection_is_in_cluster_with_the_section() -> None:
    # cncf-kubernetes' rule: no `kubernetes_default` means in-cluster or ~/.kube/config
    settings = GardenHook().settings
    assert settings == GardenHook(settings=settings).settings


def test_another_connection_type_is_refused_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    _conn(monkeypatch, "db", "postgres")
    with pytest.raises(ValueError, match="'db' is of type 'postgres'"):
        _ = GardenHook("db").settings


def test_the_test_button_names_a_bad_field_without_calling_the_seed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _conn(monkeypatch, "bad", "garden", kube_config_path="/nowhere", namespace="Not_A_Label")
    ok, message = GardenHook("bad").test_connection()
    assert not ok
    assert "connection 'bad' namespace: must be a DNS label" in message


def test_an_unreachable_seed_fails_the_test_naming_the_connection(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    _conn(monkeypatch, "gone", "garden", kube_config_path=str(kubeconfig))
    ok, message = GardenHook("gone").test_connection()
    assert not ok
    assert message.startswith("seed not reachable with connection 'gone'")


# --- the checks ------------------------------------------------------------------


class FakeSeed:
    """Answers the three requests of `check_seed` as a seed would."""

    def __init__(self, *, served: set[str], profile: str | None, allowed: bool) -> None:
        self.served, self.profile, self.allowed = served, profile, allowed
        self.reviews: list[dict[str, Any]] = []

    def raw(self, method: str, path: str) -> dict[str, Any]:
        assert (method, path) == ("GET", "/apis/garden.airflow.io/v1alpha1")
        if not self.served:
            raise NotFound({"code": 404, "reason": "NotFound"})
        return {"resources": [{"name": n} for n in self.served]}

    def find(self, api_version: str, kind: str, name: str, namespace: str) -> Any:
        assert (kind, name) == ("ConfigMap", "garden-cloudprofile")
        if self.profile is None:
            return None
        return {"data": {"profile.json": self.profile}}

    def create(self, manifest: dict[str, Any]) -> dict[str, Any]:
        self.reviews.append(manifest)
        return {**manifest, "status": {"allowed": self.allowed}}


PROFILE = json.dumps({"kubernetesVersions": ["1.32.13", "1.32.11"], "machineImages": {}})


def test_a_ready_seed_passes_and_says_what_it_found() -> None:
    seed = FakeSeed(served={"shoots", "projects", "shoots/status"}, profile=PROFILE, allowed=True)
    result = check_seed(seed, "ops")  # type: ignore[arg-type]
    assert result.ok
    assert "CloudProfile ConfigMap ops/garden-cloudprofile offers Kubernetes 1.32.13" in "; ".join(
        result.found
    )
    (review,) = seed.reviews
    assert review["spec"]["resourceAttributes"] == {
        "namespace": "ops",
        "verb": "create",
        "resource": "pods",
    }


def test_a_bare_cluster_fails_naming_everything_missing() -> None:
    result = check_seed(FakeSeed(served=set(), profile=None, allowed=False), "ops")  # type: ignore[arg-type]
    assert not result.ok
    crd, profile, pods, hint = result.missing
    assert "shoots.garden.airflow.io (Shoot)" in crd
    assert "projects.garden.airflow.io (Project)" in crd
    assert "ConfigMap ops/garden-cloudprofile does not exist" in profile
    assert "may not create pods in namespace ops" in pods
    assert hint == "install the provider there: `garden install --namespace ops` or the Helm chart"


def test_one_missing_crd_is_named_alone_and_a_bad_profile_says_why() -> None:
    seed = FakeSeed(served={"projects"}, profile='{"machineImages": {}}', allowed=True)
    result = check_seed(seed, "ops")  # type: ignore[arg-type]
    crd, profile, _hint = result.missing
    assert "shoots.garden.airflow.io" in crd
    assert "projects.garden" not in crd
    assert profile.startswith("CloudProfile does not parse: ConfigMap ops/garden-cloudprofile")
    assert "kubernetesVersions" in profile
