"""ShootCreateOperator builds the Shoot through core/shoot_resource (no cluster needed)."""

from __future__ import annotations

import json

import pytest
from shoot_examples import LOCAL_SPEC

from airflow_provider_garden.core.settings import GardenSettings
from airflow_provider_garden.core.shoot_spec import default_window
from airflow_provider_garden.core.spec_fields import SpecError
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.operators.shoot import ShootCreateOperator

SPEC = LOCAL_SPEC


def test_resource_is_the_parsed_spec_with_defaults_written_out() -> None:
    op = ShootCreateOperator(task_id="create", project="team-a", name="dev", spec=SPEC)
    shoot = op.shoot_resource()
    assert shoot["apiVersion"] == SHOOT_API_VERSION
    assert shoot["metadata"] == {"name": "dev", "namespace": "garden-team-a"}
    spec = shoot["spec"]
    assert spec["networking"] == {"pods": "100.96.0.0/11", "services": "100.64.0.0/13"}
    assert (spec["workers"][0]["maxSurge"], spec["workers"][0]["maxUnavailable"]) == (1, 0)
    begin, end = default_window("team-a", "dev")
    assert spec["maintenance"]["timeWindow"] == {"begin": begin, "end": end}
    assert spec["backup"]["store"] == {"kind": "local", "prefix": "shoot--team-a--dev"}
    # JSON text (a rendered template) gives the same resource.
    as_text = ShootCreateOperator(
        task_id="create", project="team-a", name="dev", spec=json.dumps(SPEC)
    )
    assert as_text.shoot_resource() == shoot


def test_malformed_spec_names_the_field() -> None:
    bad = {**SPEC, "networking": {"pod": "10.0.0.0/16"}}
    op = ShootCreateOperator(task_id="create", project="team-a", name="dev", spec=bad)
    with pytest.raises(SpecError, match=r"spec.networking.pod: unknown field"):
        op.shoot_resource()


class _NoShootWrites:
    """The garden hook while the pod is composed: any use of it fails the test."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the operator used the garden hook: {name}")


def test_a_new_kubernetes_version_is_the_pods_to_write_not_the_workers() -> None:
    from airflow_provider_garden.agent.main import build_parser

    op = ShootCreateOperator(
        task_id="patch_update",
        project="team-a",
        name="dev",
        kubernetes_version="1.32.13",
        planned_from="1.32.11",
    )
    op.__dict__["garden"] = _NoShootWrites()  # the cached GardenHook
    op.before_pod(context={})  # type: ignore[arg-type]
    parsed = build_parser().parse_args(op.arguments)
    assert (parsed.project, parsed.name) == ("team-a", "dev")
    assert (parsed.kubernetes_version, parsed.planned_from) == ("1.32.13", "1.32.11")


def test_without_a_new_version_the_pod_reconciles_the_spec_as_it_is() -> None:
    from airflow_provider_garden.agent.main import build_parser

    op = ShootCreateOperator(task_id="reconcile", project="team-a", name="dev")
    op.__dict__["garden"] = _NoShootWrites()
    op.before_pod(context={})  # type: ignore[arg-type]
    parsed = build_parser().parse_args(op.arguments)
    assert (parsed.kubernetes_version, parsed.planned_from) == (None, None)


@pytest.mark.parametrize(
    ("kwargs", "said"),
    [
        ({"kubernetes_version": "1.32"}, "kubernetes_version: '1.32' must be a version"),
        (
            {"kubernetes_version": "1.32.13", "spec": SPEC},
            "kubernetes_version: applies to the stored spec; with spec, set "
            "spec.kubernetes.version in it",
        ),
    ],
)
def test_a_bad_kubernetes_version_is_refused_before_anything_is_read(
    kwargs: dict[str, object], said: str
) -> None:
    op = ShootCreateOperator(task_id="patch_update", project="team-a", name="dev", **kwargs)  # type: ignore[arg-type]
    op.__dict__["garden"] = _NoShootWrites()
    with pytest.raises(SpecError) as err:
        op.validate_inputs()
    assert said in str(err.value)


def test_reconcile_is_told_the_toolbox_image_for_etcds_data_check() -> None:
    settings = GardenSettings(toolbox_image="registry.example/garden/toolbox:9")
    op = ShootCreateOperator(task_id="create", project="team-a", name="dev", settings=settings)
    op.before_pod(context={})  # type: ignore[arg-type]  # spec None: the stored spec, no I/O
    args = list(op.arguments)
    assert args[args.index("--toolbox-image") + 1] == "registry.example/garden/toolbox:9"
    assert args[args.index("reconcile") + 1 :][:4] == ["--project", "team-a", "--name", "dev"]


def test_a_spec_is_the_pods_to_write_under_the_lease_not_the_workers() -> None:
    from airflow_provider_garden.agent.main import build_parser

    made: list[object] = []

    class Projects:
        def ensure_namespace(self, project: object) -> None:
            made.append(project)

    op = ShootCreateOperator(task_id="create", project="team-a", name="dev", spec=SPEC)
    op.__dict__["garden"] = _NoShootWrites()
    op.allowed_projects = {"team-a": "the Project"}  # type: ignore[dict-item]
    op._projects = Projects  # type: ignore[assignment,method-assign]
    op.before_pod(context={})  # type: ignore[arg-type]
    parsed = build_parser().parse_args(op.arguments)
    assert made == ["the Project"]  # the namespace, from the Project, before the pod
    assert json.loads(parsed.desired_shoot) == op.shoot_resource()


def test_the_ui_renders_the_spec_as_json() -> None:
    op = ShootCreateOperator(task_id="create", project="team-a", name="dev", spec=SPEC)
    assert op.template_fields_renderers["spec"] == "json"
    assert op.template_fields_renderers["env_vars"] == "py"  # the upstream pod's own
