"""The run that issues a shoot's encryption key writes every Secret of the shoot again,
so Secrets from before encryption at rest do not stay in clear in etcd and its snapshots."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_garden.agent.components.secrets_at_rest import SecretsAtRest
from airflow_provider_garden.core.controlplane.encryption import (
    ENCRYPTION_SECRET,
    REWRITE_ANNOTATION,
)
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


class Seed:
    """The control plane's etcd-encryption Secret: its annotations, and patches of them."""

    def __init__(self, annotations: dict[str, str]) -> None:
        self.annotations = dict(annotations)

    def find(self, api_version: str, kind: str, name: str, namespace: str) -> Any:
        assert (kind, name, namespace) == ("Secret", ENCRYPTION_SECRET, "shoot--p--s")
        return {"metadata": {"name": name, "annotations": self.annotations}}

    def merge_patch(self, api_version: str, kind: str, name: str, patch: Any, ns: str) -> None:
        for key, value in patch["metadata"]["annotations"].items():
            if value is None:
                self.annotations.pop(key, None)
            else:
                self.annotations[key] = value


class Issued:
    def __init__(self, *names: str, annotations: dict[str, str] | None = None) -> None:
        self.issued = frozenset(names)
        self.kube = Seed(annotations or {})
        self.cp = SimpleNamespace(namespace="shoot--p--s")


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


def test_the_run_after_a_restore_of_another_uid_writes_them_again_once() -> None:
    # The restore put back Secrets written under the deleted shoot's kept key: the next
    # reconcile writes them under this shoot's own key, then drops the mark.
    shoot = Shoot(["a", "b"])
    secrets = Issued("kube-apiserver-tls", annotations={REWRITE_ANNOTATION: "uid-old", "x": "y"})
    at_rest = SecretsAtRest(shoot, secrets)  # type: ignore[arg-type]
    at_rest.deploy()
    assert [s["metadata"]["name"] for s in shoot.replaced] == ["a", "b"]
    assert secrets.kube.annotations == {"x": "y"}
    at_rest.deploy()  # the next run: nothing due
    assert len(shoot.replaced) == 2


def test_a_failed_rewrite_keeps_the_mark_for_the_next_run() -> None:
    shoot = Shoot(["a"])
    shoot.replace = _refused  # type: ignore[method-assign]
    secrets = Issued(annotations={REWRITE_ANNOTATION: "uid-old"})
    with pytest.raises(RuntimeError):
        SecretsAtRest(shoot, secrets).deploy()  # type: ignore[arg-type]
    assert secrets.kube.annotations == {REWRITE_ANNOTATION: "uid-old"}


def _refused(manifest: dict[str, Any]) -> dict[str, Any]:
    raise RuntimeError("the shoot's API is down")


def test_a_rewrite_that_fails_in_the_run_that_issued_the_key_is_done_by_the_next() -> None:
    shoot = Shoot(["a"])
    shoot.replace = _refused  # type: ignore[method-assign]
    secrets = Issued(ENCRYPTION_SECRET)
    with pytest.raises(RuntimeError):
        SecretsAtRest(shoot, secrets).deploy()  # type: ignore[arg-type]
    assert REWRITE_ANNOTATION in secrets.kube.annotations
    shoot = Shoot(["a"])
    secrets.issued = frozenset()  # the next run: the key is not new any more
    SecretsAtRest(shoot, secrets).deploy()  # type: ignore[arg-type]
    assert [s["metadata"]["name"] for s in shoot.replaced] == ["a"]
    assert secrets.kube.annotations == {}
