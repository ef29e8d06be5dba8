from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest

from airflow_provider_garden.core.settings import (
    CONNECTION_FIELDS,
    DEFAULT_NAMESPACE,
    DEFAULTS,
    OPTIONS,
    GardenSettings,
)
from airflow_provider_garden.core.toolbox import TOOLBOX_IMAGE

ROOT = Path(__file__).resolve().parents[3]


def test_defaults() -> None:
    s = GardenSettings()
    assert s.namespace == DEFAULT_NAMESPACE == "garden-system"
    assert s.kubernetes_conn_id == "kubernetes_default"
    assert s.toolbox_image == TOOLBOX_IMAGE
    assert s.startup_timeout == dt.timedelta(seconds=120)
    assert s.unschedulable_grace == dt.timedelta(seconds=45)
    assert s.kustomize_wait_timeout == dt.timedelta(minutes=5)


def test_from_options_parses_text_and_keeps_defaults_for_the_rest() -> None:
    s = GardenSettings.from_options(
        {"namespace": "fleet-ops", "drain_timeout_seconds": "90.5", "toolbox_image": "  "}
    )
    assert s.namespace == "fleet-ops"
    assert s.drain_timeout == dt.timedelta(seconds=90.5)
    assert s.toolbox_image == TOOLBOX_IMAGE  # empty text: the default
    assert s.startup_timeout == DEFAULTS.startup_timeout


def test_from_options_reads_what_options_declares() -> None:
    text = {o.key: o.default for o in OPTIONS}
    assert GardenSettings.from_options(text) == DEFAULTS


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"startup_timeout_seconds": "two minutes"},
            "[garden] startup_timeout_seconds: must be a number of seconds, got 'two minutes'",
        ),
        ({"startup_timeout_seconds": "0"}, "[garden] startup_timeout_seconds: must be more than 0"),
        ({"drain_timeout_seconds": "-5"}, "[garden] drain_timeout_seconds: must be more than 0"),
        (
            {"namespace": "Garden_System"},
            "[garden] namespace: must be a DNS label (lowercase letters, digits, '-'; "
            "at most 63), got 'Garden_System'",
        ),
        ({"namespace": "x" * 64}, "[garden] namespace: must be a DNS label"),
    ],
)
def test_bad_values_name_the_option_and_the_rule(options: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        GardenSettings.from_options(options)


def test_allowed_pod_overrides_are_a_checked_comma_separated_list() -> None:
    s = GardenSettings.from_options({"allowed_pod_overrides": " image=a:1 ,, hostnetwork "})
    assert s.allowed_pod_overrides == ("image=a:1", "hostnetwork")
    assert DEFAULTS.allowed_pod_overrides == ()
    with pytest.raises(ValueError, match=r"\[garden\] allowed_pod_overrides: 'env_vars' is not"):
        GardenSettings.from_options({"allowed_pod_overrides": "env_vars"})


def test_zero_means_do_not_wait_for_kustomize_only() -> None:
    s = GardenSettings.from_options({"kustomize_wait_timeout_seconds": "0"})
    assert s.kustomize_wait_timeout == dt.timedelta(0)
    with pytest.raises(ValueError, match="kustomize_wait_timeout_seconds: must be 0 or more"):
        GardenSettings(kustomize_wait_timeout=dt.timedelta(seconds=-1))


def test_every_field_is_an_option_with_a_doc() -> None:
    fields = dataclasses.fields(GardenSettings)
    assert [o.field for o in OPTIONS] == [f.name for f in fields]
    for o in OPTIONS:
        assert o.doc.endswith("."), o.key
        assert (o.type == "float") is o.key.endswith("_seconds"), o.key


def test_readme_configuration_table_lists_every_option_with_its_default() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = dict(re.findall(r"^\| `(\w+)` \| (`[^`]*`|\(empty\)) \|", readme, flags=re.MULTILINE))
    expected = {
        o.key: f"`{o.default}`".replace(TOOLBOX_IMAGE, "localhost/garden/toolbox:<version>")
        if o.default
        else "(empty)"
        for o in OPTIONS
    }
    assert {k: v for k, v in rows.items() if k in expected or k.endswith("_seconds")} == expected


def test_no_namespace_literal_outside_the_settings() -> None:
    """The provider's namespace is spelled once: code derives it from core/settings.py."""
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in ("airflow_provider_garden", "dags", "benchmarks")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != ROOT / "airflow_provider_garden/core/settings.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "garden-system" in line
    ]
    assert offenders == []


def test_option_keys_are_the_field_names_timeouts_in_seconds() -> None:
    assert [o.key for o in OPTIONS] == [
        "kubernetes_conn_id",
        "namespace",
        "toolbox_image",
        "startup_timeout_seconds",
        "unschedulable_grace_seconds",
        "shoot_ready_timeout_seconds",
        "machine_creation_timeout_seconds",
        "drain_timeout_seconds",
        "kustomize_wait_timeout_seconds",
        "allowed_pod_overrides",
        "instance",
        "project_admins",
        "reap_unknown_dags",
    ]


def test_instance_and_reap_unknown_dags_are_settings() -> None:
    s = GardenSettings.from_options({"instance": "team-airflow", "reap_unknown_dags": "True"})
    assert (s.instance, s.reap_unknown_dags) == ("team-airflow", True)
    assert (DEFAULTS.instance, DEFAULTS.reap_unknown_dags) == ("", False)
    with pytest.raises(ValueError, match=r"\[garden\] reap_unknown_dags: must be true or false"):
        GardenSettings.from_options({"reap_unknown_dags": "sometimes"})
    with pytest.raises(ValueError, match=r"\[garden\] instance: must be a Kubernetes label value"):
        GardenSettings.from_options({"instance": "two words"})


def test_project_admins_is_a_list_of_user_names() -> None:
    s = GardenSettings.from_options({"project_admins": " root, ops-team ,"})
    assert s.project_admins == ("root", "ops-team")
    assert GardenSettings.from_options({}).project_admins == ()


# --- what a garden connection sets for its own seed ---------------------------------


def test_a_connection_replaces_namespace_and_image_and_names_itself() -> None:
    base = GardenSettings(namespace="garden-system", toolbox_image="reg/toolbox:1")
    seed = base.for_connection("seed_b", {"namespace": " fleet-b ", "toolbox_image": "reg/t:2"})
    assert (seed.kubernetes_conn_id, seed.namespace, seed.toolbox_image) == (
        "seed_b",
        "fleet-b",
        "reg/t:2",
    )
    assert seed.startup_timeout == base.startup_timeout  # the rest stays the installation's


def test_fields_a_connection_leaves_blank_keep_the_section_values() -> None:
    base = GardenSettings(namespace="ops", toolbox_image="reg/toolbox:1")
    for blank in ({}, {"namespace": "", "toolbox_image": None}, {"namespace": "  "}):
        seed = base.for_connection("c", blank)
        assert (seed.namespace, seed.toolbox_image, seed.kubernetes_conn_id) == (
            "ops",
            "reg/toolbox:1",
            "c",
        )


def test_a_connection_sets_only_its_fields() -> None:
    seed = GardenSettings().for_connection("c", {"instance": "other", "startup_timeout": "1"})
    assert seed == dataclasses.replace(GardenSettings(), kubernetes_conn_id="c")
    assert CONNECTION_FIELDS == ("namespace", "toolbox_image")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"namespace": "Fleet_B"}, "connection 'seed_b' namespace: must be a DNS label"),
        ({"namespace": "x" * 64}, "connection 'seed_b' namespace: must be a DNS label"),
        ({"toolbox_image": 7}, "connection 'seed_b' toolbox_image: must be text"),
    ],
)
def test_a_bad_connection_value_names_the_connection_and_field(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        GardenSettings().for_connection("seed_b", fields)
