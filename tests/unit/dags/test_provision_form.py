"""garden_provision's form is typed by the Shoot schema the CRD is generated from."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path
from typing import Any

import pytest
from airflow.exceptions import ParamValidationError
from airflow.sdk.definitions.param import ParamsDict

from airflow_provider_garden.core import shoot_schema
from airflow_provider_garden.core.shoot_resource import envelope
from airflow_provider_garden.core.shoot_spec import parse_shoot
from airflow_provider_garden.core.validation import validate
from airflow_provider_garden.localseed.profile import local_profile

_FILE = Path(__file__).resolve().parents[3] / "dags" / "garden_provision.py"
_SPEC = importlib.util.spec_from_file_location("garden_provision_form", _FILE)
assert _SPEC is not None
assert _SPEC.loader is not None
garden_provision = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(garden_provision)


def _params() -> ParamsDict:
    return garden_provision.dag.params


@pytest.mark.parametrize(("field", "path"), sorted(garden_provision.SPEC_PARAMS.items()))
def test_spec_fields_carry_the_schema(field: str, path: str) -> None:
    param = _params().get_param(field)
    expected = shoot_schema.json_schema(shoot_schema.at(path))
    expected.pop("default", None)
    description = expected.pop("description")
    assert {k: v for k, v in param.schema.items() if k != "examples"} == expected
    assert param.description.startswith(description)


def _resolved(**changes: Any) -> dict[str, Any]:
    params = copy.deepcopy(_params())
    for key, value in changes.items():
        params[key] = value
    return params.validate()


def test_form_defaults_make_a_valid_shoot() -> None:
    p = _resolved()
    spec = {
        "kubernetes": {"version": p["kubernetes_version"]},
        "networking": p["networking"],
        "workers": p["workers"],
        "maintenance": {"timeWindow": p["maintenance_window"]},
        "backup": p["backup"],
    }
    profile = local_profile()
    shoot = parse_shoot(envelope(p["project"], p["name"], spec, api_version="x/v1"))
    errors = validate(
        shoot,
        offered_versions=profile.kubernetes_versions,
        reserved_cidrs=profile.seed_networks,
        offered_machine_images=profile.machine_images,
    )
    assert errors == []


POOL = {
    "name": "pool-a",
    "machine": {"type": "local", "image": {"name": "gardenlinux", "version": "1592.2"}},
    "minimum": 1,
    "maximum": 2,
    "maxSurge": "25%",
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("workers", [{**POOL, "maxsurge": 1}]),  # a typo is refused, as by the CRD parser
        ("workers", [{**POOL, "name": "pool-with-a-long-name"}]),
        ("workers", [{**POOL, "maxUnavailable": "half"}]),
        ("workers", [{**POOL, "machine": {"type": "local"}}]),
        ("backup", {"store": {"kind": "gcs"}}),
        ("backup", {"retention": {"policy": "LimitBased", "maxBackups": 0}}),
        ("maintenance_window", {"begin": "22:00", "end": "230000+0000"}),
        ("kubernetes_version", "1.32"),
    ],
)
def test_form_refuses_what_the_crd_refuses(field: str, value: object) -> None:
    with pytest.raises(ParamValidationError):
        _resolved(**{field: value})


def test_form_accepts_a_worker_pool() -> None:
    assert _resolved(workers=[POOL])["workers"] == [POOL]
