"""The run that issues a shoot's encryption key writes every Secret of the shoot again,
so Secrets from before encryption at rest do not stay in clear in etcd and its snapshots."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_garden.agent.components.secrets_at_rest import SecretsAtRest
from airflow_provider_garden.core.controlplane.encryption import ENCRYPTION_SECRET
from airflow_provider_garden.kube.errors import Conflict


class Shoot:
    """The shoot's API: its Secrets (as a list answer gives them: no kind) and writes."""

    def __init__(self, names: list[str], *, conflict: str | None = None) -> None:
        self.secrets = [{"metadata": {"name": n, "namespace": "default"}} for n in names]
        self.replaced: list[dict[str, Any]] = []
        self.conflict = conflict

    def client(self) -> Shoot:
        return self

    def list(self, api_version: str, kind: str) -> list[dict[str, Any]]:
        return self.secrets

    def replace(self, manifest: dict[str, Any]) -> dict[str, Any]:
        if manifest["metadata"]["name"] == self.conflict:
            raise Conflict({"code": 409, "reason": "Conflict", "message": "modified"})
        self.replaced.append(manifest)
        return manifest


class Issued:
    def __init__(self, *names: str) -> None:
        self.issued = frozenset(names)


@pytest.mark.parametrize(
    ("issued", "rewritten"),
    [((ENCRYPTION_SECRET, "ca"), ["a", "c"]), (("kube-apiserver-tls",), [])],
    ids=["new-key", "key-kept"],
)
def test_secrets_are_written_again_only_by_the_run_that_issued_the_key(
    issued: tuple[str, ...], rewritten: list[str]
) -> None:
    shoot = Shoot(["a", "b", "c"], conflict="b")  # b changed meanwhile: written anew anyway
    SecretsAtRest(shoot, Issued(*issued)).deploy()  # type: ignore[arg-type]
    assert [s["metadata"]["name"] for s in shoot.replaced] == rewritten
    assert all(s["kind"] == "Secret" and s["apiVersion"] == "v1" for s in shoot.replaced)
