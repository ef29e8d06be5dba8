"""A restore of a deleted shoot's snapshot (from_uid) first lets this control plane read
it: that UID's kept keys after this shoot's own key (which still writes), identity last,
and a rewrite of the Secrets marked due for the next reconcile."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from typing import Any

import pytest

from airflow_provider_garden.agent.etcd_restore import add_kept_keys
from airflow_provider_garden.core.controlplane.encryption import (
    ENCRYPTION_FILE,
    ENCRYPTION_SECRET,
    REWRITE_ANNOTATION,
    new_key,
    read_keys,
    render,
)
from airflow_provider_garden.core.flow import PermanentError
from airflow_provider_garden.core.kept_backups import KeptBackups, kept_key_name
from airflow_provider_garden.core.shoot_spec import SnapstoreKind
from airflow_provider_garden.kube import kept_backups

OLD_UID = "dddddddd-4444-4000-8000-000000000004"
CP_NS, PROJECT_NS = "shoot--team-a--db", "garden-team-a"
OWN, OLD = new_key(b"n" * 32), new_key(b"o" * 32)
RECORD = KeptBackups(
    project="team-a",
    name="db",
    uid=OLD_UID,
    kind=SnapstoreKind.S3,
    prefix=CP_NS,
    bucket="etcd",
    secret_name="s3",
    deleted=dt.datetime(2026, 12, 6, 22, 0, tzinfo=dt.UTC),
    keep_for=dt.timedelta(days=7),
    key_secret=kept_key_name("db", OLD_UID),
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Seed:
    def __init__(self, record: KeptBackups | None = RECORD, *, own: bool = True) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        if own:
            self.put("Secret", CP_NS, ENCRYPTION_SECRET, {ENCRYPTION_FILE: b64(render([OWN]))})
        if record is not None:
            self.put("ConfigMap", PROJECT_NS, record.record_name, record.to_data())
            if record.key_secret:
                self.put("Secret", PROJECT_NS, record.key_secret,
                         {ENCRYPTION_FILE: b64(render([OLD]))})  # fmt: skip

    def put(self, kind: str, ns: str, name: str, data: dict[str, str]) -> None:
        self.objects[(kind, ns, name)] = {"metadata": {"name": name}, "data": data}

    def find(self, api_version: str, kind: str, name: str, namespace: str) -> Any:
        return self.objects.get((kind, namespace, name))

    def merge_patch(self, api_version: str, kind: str, name: str, patch: Any, ns: str) -> None:
        obj = self.objects[(kind, ns, name)]
        obj["data"].update(patch.get("data", {}))
        obj["metadata"].setdefault("annotations", {}).update(patch["metadata"]["annotations"])

    def own(self) -> dict[str, Any]:
        return self.objects[("Secret", CP_NS, ENCRYPTION_SECRET)]


def add(seed: Seed, from_uid: str | None) -> bool:
    return add_kept_keys(
        seed,  # type: ignore[arg-type]
        namespace=CP_NS,
        shoot=("team-a", "db"),
        from_uid=from_uid,
    )


def test_the_deleted_shoots_keys_read_after_the_shoots_own() -> None:
    seed = Seed()
    assert add(seed, OLD_UID)
    config = base64.b64decode(seed.own()["data"][ENCRYPTION_FILE])
    assert read_keys(config) == [OWN, OLD]  # own first: it writes; the old one reads
    assert config.endswith(b"  - identity: {}\n")  # snapshots from before encryption
    assert seed.own()["metadata"]["annotations"] == {REWRITE_ANNOTATION: OLD_UID}
    assert add(seed, OLD_UID)  # a second try (a restore that was settled) adds nothing
    assert read_keys(base64.b64decode(seed.own()["data"][ENCRYPTION_FILE])) == [OWN, OLD]


@pytest.mark.parametrize("from_uid", [None, "unmarked"])
def test_this_shoots_own_or_an_unmarked_snapshot_changes_nothing(from_uid: str | None) -> None:
    seed = Seed()
    before = dict(seed.own()["data"])
    assert not add(seed, from_uid)
    assert seed.own()["data"] == before
    assert "annotations" not in seed.own()["metadata"]


def test_a_deleted_shoot_without_keys_restores_plain() -> None:
    seed = Seed(dataclasses.replace(RECORD, key_secret=None))
    assert not add(seed, OLD_UID)
    assert read_keys(base64.b64decode(seed.own()["data"][ENCRYPTION_FILE])) == [OWN]


def test_kept_keys_that_are_gone_stop_the_restore_before_anything_changes() -> None:
    seed = Seed()
    del seed.objects[("Secret", PROJECT_NS, kept_key_name("db", OLD_UID))]
    with pytest.raises(PermanentError, match="cannot be read"):
        add(seed, OLD_UID)
    assert "annotations" not in seed.own()["metadata"]


def test_a_shoot_without_its_own_key_is_reconciled_first() -> None:
    with pytest.raises(PermanentError, match="reconcile the shoot"):
        add(Seed(own=False), OLD_UID)


def test_the_kept_keys_are_found_by_the_records_name() -> None:
    assert kept_backups.kept_keys(Seed(), "team-a", "db", OLD_UID) == b64(render([OLD]))  # type: ignore[arg-type]
