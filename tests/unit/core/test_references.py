from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_garden.core.references import SECRET_REF, reference_errors
from airflow_provider_garden.core.shoot_resource import envelope
from airflow_provider_garden.core.shoot_spec import parse_shoot
from airflow_provider_garden.core.spec_fields import FieldError


def spec(store: dict[str, Any] | None) -> Any:
    body: dict[str, Any] = {"kubernetes": {"version": "1.32.13"}}
    if store is not None:
        body["backup"] = {"store": store}
    return parse_shoot(envelope("p", "s", body, api_version="garden.airflow.io/v1alpha1"))


S3 = {"kind": "s3", "bucket": "b", "secretRef": {"name": "creds"}}
KEYS = {"accessKeyID", "secretAccessKey"}


@pytest.mark.parametrize(
    ("store", "secrets", "errors"),
    [
        (None, {}, []),
        ({"kind": "local"}, {}, []),
        (S3, {"creds": KEYS}, []),
        (S3, {}, [FieldError(SECRET_REF, "Secret garden-p/creds does not exist")]),
        (S3, {"creds": None}, [FieldError(SECRET_REF, "Secret garden-p/creds does not exist")]),
        (
            S3,
            {"creds": {"accessKeyID", "region"}},
            [FieldError(SECRET_REF, "Secret garden-p/creds has no key secretAccessKey")],
        ),
    ],
)
def test_reference_errors(
    store: dict[str, Any] | None, secrets: dict[str, Any], errors: list[FieldError]
) -> None:
    assert reference_errors(spec(store), secrets) == errors
