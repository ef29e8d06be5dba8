"""values.schema.json refuses bad values before anything reaches a cluster."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

Rejected = Callable[[dict[str, Any]], str]

BAD_VALUES = [
    pytest.param({"imagee": {"tag": "1"}}, "additional properties 'imagee'", id="typo-top-level"),
    pytest.param({"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy", id="pull-policy"),
    pytest.param({"image": {"repository": ""}}, "/image/repository", id="empty-repository"),
    pytest.param({"rbac": {"create": "yes"}}, "/rbac/create", id="rbac-not-boolean"),
    pytest.param(
        {"cloudProfile": {"kubernetesVersions": []}},
        "/cloudProfile/kubernetesVersions",
        id="no-kubernetes-version",
    ),
    pytest.param(
        {"cloudProfile": {"kubernetesVersions": ["1.32"]}},
        "/cloudProfile/kubernetesVersions/0",
        id="version-without-patch",
    ),
    pytest.param(
        {"cloudProfile": {"kubernetesVersions": [{"version": "1.32.1", "classification": "old"}]}},
        "/cloudProfile/kubernetesVersions/0",
        id="version-classification-unknown",
    ),
    pytest.param(
        {"cloudProfile": {"kubernetesVersions": [{"version": "1.32.1", "expirationDate": "soon"}]}},
        "/cloudProfile/kubernetesVersions/0",
        id="version-expiration-not-a-time",
    ),
    pytest.param(
        {
            "cloudProfile": {
                "machineImages": {"gardenlinux": [{"version": "1", "classification": "x"}]}
            }
        },
        "/cloudProfile/machineImages/gardenlinux/0",
        id="image-version-classification-unknown",
    ),
    pytest.param(
        {"cloudProfile": {"machineImages": {"gardenlinux": []}}},
        "/cloudProfile/machineImages/gardenlinux",
        id="image-without-versions",
    ),
    pytest.param(
        {"cloudProfile": {"seedNetworks": ["10.0.0.0"]}},
        "/cloudProfile/seedNetworks/0",
        id="network-without-prefix",
    ),
    pytest.param(
        {"projects": [{"name": "Team-A", "owner": "o"}]},
        "/projects/0/name",
        id="project-not-a-dns-label",
    ),
    pytest.param(
        {"projects": [{"name": "team--a", "owner": "o"}]},
        "/projects/0/name",
        id="project-with-double-dash",
    ),
    *(
        pytest.param(
            {"projects": [{"name": name, "owner": "o"}]}, "/projects/0/name", id=f"project-{name}"
        )
        for name in ("system", "garden", "123")  # core/name_rules.py refuses them too
    ),
    pytest.param(
        {"projects": [{"name": "a" * 57, "owner": "o"}]},
        "/projects/0/name",
        id="project-namespace-too-long",
    ),
    pytest.param(
        {"projects": [{"name": "a", "owner": "o"}, {"name": "a", "owner": "o"}]},
        "/projects",
        id="project-twice",
    ),
    pytest.param({"projects": ["team-a"]}, "/projects/0", id="project-without-owner-as-string"),
    pytest.param({"projects": [{"name": "team-a"}]}, "/projects/0", id="project-without-owner"),
    pytest.param(
        {"projects": [{"name": "a", "owner": "o", "quota": {"maxShoots": -1}}]},
        "/projects/0/quota/maxShoots",
        id="project-negative-quota",
    ),
    pytest.param(
        {"projects": [{"name": "a", "owner": "o", "s3Credentials": {"accessKeyID": "k"}}]},
        "/projects/0/s3Credentials",
        id="project-credentials-without-secret",
    ),
    pytest.param(
        {"snapstore": {"s3": {"createSecret": True}}},
        "/snapstore/s3",
        id="s3-secret-without-credentials",
    ),
    pytest.param(
        {"snapstore": {"s3": {"createSecret": True, "accessKeyID": "", "secretAccessKey": "x"}}},
        "/snapstore/s3/accessKeyID",
        id="s3-empty-access-key",
    ),
    pytest.param(
        {"snapstore": {"s3": {"endpoint": "s3.example.com"}}},
        "/snapstore/s3/endpoint",
        id="s3-endpoint-without-scheme",
    ),
    pytest.param({"commonLabels": {"team": 1}}, "/commonLabels/team", id="label-not-a-string"),
]


@pytest.mark.parametrize(("values", "where"), BAD_VALUES)
def test_schema_rejects(rejected: Rejected, values: dict[str, Any], where: str) -> None:
    message = rejected(values)
    assert "don't meet the specifications of the schema" in message
    assert where in message, message
