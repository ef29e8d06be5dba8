"""A teardown keeps the control plane's etcd encryption keys beside its kept snapshots,
and they go when the snapshots expire: the seed side (kube/kept_backups.py) on a fake."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from airflow_provider_garden.core.controlplane.encryption import ENCRYPTION_FILE, ENCRYPTION_SECRET
from airflow_provider_garden.core.kept_backups import KeptBackups, KeptBackupsError, kept_key_name
from airflow_provider_garden.core.shoot_spec import SnapstoreKind
from airflow_provider_garden.kube import kept_backups

UID = "cccccccc-3333-4000-8000-000000000003"
CP_NS, PROJECT_NS = "shoot--team-a--db", "garden-team-a"
DELETED = dt.datetime(2026, 12, 6, 22, 0, tzinfo=dt.UTC)
RECORD = KeptBackups(
    project="team-a",
    name="db",
    uid=UID,
    kind=SnapstoreKind.S3,
    prefix=CP_NS,
    bucket="etcd",
    secret_name="s3",
    deleted=DELETED,
    keep_for=dt.timedelta(hours=1),
    key_secret=kept_key_name("db", UID),
)
CONFIG = "YXBpVmVyc2lvbjogdjE="  # base64, as a Secret's data holds it


class Seed:
    """Objects by (kind, namespace, name); only what kept_backups calls."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str | None, str], dict[str, Any]] = {}

    def put(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        self.objects[(obj["kind"], meta.get("namespace"), meta["name"])] = obj

    def find(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
        return self.objects.get((kind, namespace, name))

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.put(obj)
        return obj

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        return self.objects.pop((kind, namespace, name), None) is not None

    def list(
        self, api_version: str, kind: str, namespace: str | None, *, label_selector: str = ""
    ) -> list[Any]:
        wanted = dict(term.split("=") for term in label_selector.split(",") if term)
        return [
            o
            for (k, ns, _n), o in self.objects.items()
            if k == kind
            and namespace in (None, ns)
            and wanted.items() <= (o["metadata"].get("labels") or {}).items()
        ]


def seed_with_keys() -> Seed:
    seed = Seed()
    seed.put({"kind": "Secret", "metadata": {"name": ENCRYPTION_SECRET, "namespace": CP_NS},
              "data": {ENCRYPTION_FILE: CONFIG}})  # fmt: skip
    return seed


def test_a_teardown_keeps_the_keys_beside_the_record_that_names_them() -> None:
    seed = seed_with_keys()
    kept_backups.keep(seed, RECORD, controlplane_namespace=CP_NS)  # type: ignore[arg-type]
    kept = seed.find("v1", "Secret", "kept-etcd-encryption-db-cccccccc", PROJECT_NS)
    assert kept["data"] == {ENCRYPTION_FILE: CONFIG}
    assert kept["metadata"]["labels"]["garden.airflow.io/shoot-uid"] == UID
    assert kept_backups.kept_keys(seed, "team-a", "db", UID) == CONFIG  # type: ignore[arg-type]
    # A second try after the control plane's Secrets went: kept already, nothing lost.
    seed.delete("v1", "Secret", ENCRYPTION_SECRET, CP_NS)
    kept_backups.keep(seed, RECORD, controlplane_namespace=CP_NS)  # type: ignore[arg-type]
    assert kept_backups.kept_keys(seed, "team-a", "db", UID) == CONFIG  # type: ignore[arg-type]


def test_keys_that_are_gone_before_they_were_kept_fail_the_teardown() -> None:
    with pytest.raises(KeptBackupsError, match="may be unreadable"):
        kept_backups.keep(Seed(), RECORD, controlplane_namespace=CP_NS)  # type: ignore[arg-type]


def test_a_shoot_without_keys_keeps_none_and_restores_plain() -> None:
    seed = Seed()
    plain = dataclasses.replace(RECORD, key_secret=None)
    kept_backups.keep(seed, plain, controlplane_namespace=CP_NS)  # type: ignore[arg-type]
    assert [k for k, _, _ in seed.objects] == ["ConfigMap"]
    assert kept_backups.kept_keys(seed, "team-a", "db", UID) is None  # type: ignore[arg-type]


def test_the_keys_expire_with_their_snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    seed = seed_with_keys()
    kept_backups.keep(seed, RECORD, controlplane_namespace=CP_NS)  # type: ignore[arg-type]
    monkeypatch.setattr(kept_backups, "_store_pod", lambda record, *verb: verb)
    monkeypatch.setattr(kept_backups, "run_agent_pod", lambda kube, pod: {"droppedCount": 2})
    early = kept_backups.expire(seed, now=DELETED + dt.timedelta(minutes=59))  # type: ignore[arg-type]
    assert [r["outcome"] for r in early] == ["kept"]
    assert seed.find("v1", "Secret", RECORD.key_secret, PROJECT_NS) is not None
    [report] = kept_backups.expire(seed, now=DELETED + dt.timedelta(hours=1))  # type: ignore[arg-type]
    assert report["outcome"] == "dropped", report
    assert seed.find("v1", "Secret", RECORD.key_secret, PROJECT_NS) is None
    assert seed.objects == {("Secret", CP_NS, ENCRYPTION_SECRET): seed.objects[
        ("Secret", CP_NS, ENCRYPTION_SECRET)]}  # fmt: skip


def test_a_record_whose_keys_are_gone_says_the_snapshots_cannot_be_read() -> None:
    seed = seed_with_keys()
    kept_backups.keep(seed, RECORD, controlplane_namespace=CP_NS)  # type: ignore[arg-type]
    seed.delete("v1", "Secret", RECORD.key_secret or "", PROJECT_NS)
    with pytest.raises(KeptBackupsError, match="cannot be read"):
        kept_backups.kept_keys(seed, "team-a", "db", UID)  # type: ignore[arg-type]


def test_reconcile_finds_the_kept_uids_of_its_name_by_label() -> None:
    seed = seed_with_keys()
    other = dataclasses.replace(RECORD, name="web", uid="eeeeeeee-5", key_secret=None)
    for record in (RECORD, other):
        kept_backups.keep(seed, record, controlplane_namespace=CP_NS)  # type: ignore[arg-type]
    assert kept_backups.kept_uids(seed, "team-a", "db") == [UID]  # type: ignore[arg-type]


def test_the_record_is_complete_only_once_its_teardown_kept_everything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed = seed_with_keys()
    written: list[bool] = []
    apply = seed.apply

    def recording(obj: dict[str, Any]) -> dict[str, Any]:
        if obj["kind"] == "ConfigMap":
            written.append(KeptBackups.from_data(obj["data"], where="cm").complete)
        return apply(obj)

    monkeypatch.setattr(seed, "apply", recording)
    kept_backups.keep(seed, RECORD, controlplane_namespace=CP_NS)  # type: ignore[arg-type]
    assert written == [False, True]
    [record] = kept_backups.records(seed)  # type: ignore[arg-type]
    assert record.complete


def test_a_local_store_whose_volume_is_gone_keeps_nothing_and_promises_nothing() -> None:
    seed = seed_with_keys()
    local = dataclasses.replace(
        RECORD, kind=SnapstoreKind.LOCAL, bucket=None, secret_name=None, claim="etcd-backups-db"
    )
    seed.put({"kind": "PersistentVolumeClaim",
              "metadata": {"name": "etcd-backups", "namespace": CP_NS},
              "spec": {"volumeName": "pvc-gone"}})  # fmt: skip
    kept_backups.keep(seed, local, controlplane_namespace=CP_NS)  # type: ignore[arg-type]
    assert kept_backups.records(seed) == []  # type: ignore[arg-type]
    assert seed.find("v1", "Secret", RECORD.key_secret, PROJECT_NS) is None
