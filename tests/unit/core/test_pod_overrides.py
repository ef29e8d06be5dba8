"""The allow-list of pod arguments a DAG may pass: what it governs and how entries read."""

from __future__ import annotations

import pytest

from airflow_provider_garden.core.pod_overrides import entry_problem, guarded, refused_overrides


@pytest.mark.parametrize(
    "argument",
    [
        "image",
        "service_account_name",
        "security_context",
        "container_security_context",
        "init_containers",
        "full_pod_spec",
        "pod_template_file",
        "pod_template_dict",
        "hostnetwork",
        "host_network",
        "host_aliases",
        "hostname",
    ],
)
def test_who_and_what_the_pod_runs_as_is_guarded(argument: str) -> None:
    assert guarded(argument)


@pytest.mark.parametrize("argument", ["env_vars", "labels", "node_selector", "retries"])
def test_ordinary_arguments_are_not(argument: str) -> None:
    assert not guarded(argument)


def test_a_guarded_argument_is_refused_naming_it_and_the_option() -> None:
    [line] = refused_overrides({"service_account_name": "garden-shoot", "retries": 2}, ())
    assert line == (
        "service_account_name='garden-shoot': the operator chooses this itself; a DAG may set "
        "it only where [garden] allowed_pod_overrides lists 'service_account_name' (any value) "
        "or 'service_account_name=garden-shoot' (this value)"
    )


def test_entries_admit_any_value_or_exactly_one() -> None:
    allowed = ("hostnetwork", "image=localhost/garden/toolbox:next")
    assert refused_overrides({"hostnetwork": True}, allowed) == []
    assert refused_overrides({"image": "localhost/garden/toolbox:next"}, allowed) == []
    [line] = refused_overrides({"image": "evil:latest"}, allowed)
    assert line.startswith("image='evil:latest': the operator chooses this itself")
    # ARG=VALUE compares text: a security context object needs the bare argument.
    [line] = refused_overrides({"security_context": {"runAsUser": 0}}, ("security_context=x",))
    assert line.endswith("lists 'security_context'")


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("image", None),
        ("hostnetwork", None),
        ("service_account_name=my-sa", None),
        ("volumes", "'volumes' is not an argument this list governs"),
        ("image=", "'image=' names no value after '='"),
    ],
)
def test_allow_list_entries_are_checked(entry: str, problem: str | None) -> None:
    found = entry_problem(entry)
    assert (found is None) if problem is None else (found or "").startswith(problem)
