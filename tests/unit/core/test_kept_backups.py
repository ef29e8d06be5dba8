from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from airflow_provider_garden.core.kept_backups import (
    KeptBackups,
    KeptBackupsError,
    Verdict,
    kept_key_name,
    plan_expiry,
    record_name,
)
from airflow_provider_garden.core.shoot_spec import SnapstoreKind

DELETED = dt.datetime(2026, 12, 6, 22, 0, tzinfo=dt.UTC)
UID = "aaaaaaaa-1111-4000-8000-000000000001"
LOCAL = KeptBackups(
    project="team-a",
    name="db",
    uid=UID,
    kind=SnapstoreKind.LOCAL,
    prefix="shoot--team-a--db",
    deleted=DELETED,
    keep_for=dt.timedelta(days=7),
    claim="etcd-backups-db-aaaaaaaa",
)
S3 = dataclasses.replace(
    LOCAL,
    uid="bbbbbbbb-2222-4000-8000-000000000002",
    kind=SnapstoreKind.S3,
    claim=None,
    bucket="etcd",
    secret_name="s3",
    keep_for=dt.timedelta(hours=1),
)


def test_a_record_round_trips_through_its_configmap_data() -> None:
    for record in (LOCAL, S3):
        assert KeptBackups.from_data(record.to_data(), where="cm") == record
    assert '"expires": "2026-12-13T22:00:00Z"' in LOCAL.to_data()["kept.json"]


def test_a_malformed_record_names_where_it_is() -> None:
    with pytest.raises(KeptBackupsError, match="garden-team-a/kept-x: not a kept-backups record"):
        KeptBackups.from_data({"kept.json": '{"project": "team-a"}'}, where="garden-team-a/kept-x")


def test_a_local_record_names_its_claim_and_an_s3_one_none() -> None:
    with pytest.raises(KeptBackupsError, match="claim is set exactly when"):
        dataclasses.replace(LOCAL, claim=None)
    with pytest.raises(KeptBackupsError, match="claim is set exactly when"):
        dataclasses.replace(S3, claim="x")


def test_each_deleted_incarnation_of_a_name_gets_its_own_record() -> None:
    assert record_name("db", UID) != record_name("db", S3.uid)


@pytest.mark.parametrize(
    ("after", "local", "s3"),
    [
        (dt.timedelta(minutes=59), Verdict.KEPT, Verdict.KEPT),
        (dt.timedelta(hours=1), Verdict.KEPT, Verdict.EXPIRED),  # the period is inclusive
        (dt.timedelta(days=7) - dt.timedelta(seconds=1), Verdict.KEPT, Verdict.EXPIRED),
        (dt.timedelta(days=8), Verdict.EXPIRED, Verdict.EXPIRED),
    ],
)
def test_records_expire_after_their_period_at_the_runs_time(
    after: dt.timedelta, local: Verdict, s3: Verdict
) -> None:
    decisions = {d.record.uid: d for d in plan_expiry([LOCAL, S3], now=DELETED + after)}
    assert (decisions[LOCAL.uid].verdict, decisions[S3.uid].verdict) == (local, s3)
    if local is Verdict.KEPT:
        assert decisions[LOCAL.uid].reason == "until 2026-12-13T22:00:00Z"
        assert not decisions[LOCAL.uid].goes


def test_dropping_early_needs_the_typed_confirmation() -> None:
    with pytest.raises(KeptBackupsError) as err:
        plan_expiry([LOCAL], now=DELETED, drop_uid=UID, confirm="team-a/db")
    assert f"drop_confirm must be exactly 'team-a/db@{UID}'" in str(err.value)
    assert "Nothing was deleted" in str(err.value)
    [decision] = plan_expiry([LOCAL], now=DELETED, drop_uid=UID, confirm=f"team-a/db@{UID}")
    assert decision.verdict is Verdict.DROPPED


def test_dropping_an_unknown_uid_is_refused() -> None:
    with pytest.raises(KeptBackupsError, match="no deleted shoot's snapshots have UID nope"):
        plan_expiry([LOCAL], now=DELETED, drop_uid="nope", confirm="x")


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(KeptBackupsError, match="timezone-aware"):
        plan_expiry([LOCAL], now=DELETED.replace(tzinfo=None))


def test_a_record_names_its_kept_encryption_keys_and_an_older_record_reads_without() -> None:
    keyed = dataclasses.replace(LOCAL, key_secret=kept_key_name("db", UID))
    assert KeptBackups.from_data(keyed.to_data(), where="cm") == keyed
    assert '"keySecret": "kept-etcd-encryption-db-aaaaaaaa"' in keyed.to_data()["kept.json"]
    older = json.loads(LOCAL.to_data()["kept.json"])
    del older["keySecret"]  # written before encryption at rest
    read = KeptBackups.from_data({"kept.json": json.dumps(older)}, where="cm")
    assert read.key_secret is None
    assert kept_key_name("db", UID) != kept_key_name("db", S3.uid)


def test_a_record_its_teardown_has_not_completed_is_never_expired() -> None:
    moving = dataclasses.replace(LOCAL, complete=False)
    assert KeptBackups.from_data(moving.to_data(), where="cm") == moving
    [decision] = plan_expiry([moving], now=DELETED + dt.timedelta(days=30))
    assert (decision.verdict, decision.reason) == (
        Verdict.KEPT,
        "its teardown has not finished keeping it",
    )
    older = json.loads(LOCAL.to_data()["kept.json"])
    del older["complete"]  # written before records said so: complete
    assert KeptBackups.from_data({"kept.json": json.dumps(older)}, where="cm").complete


def test_only_limits_expiry_to_the_shoots_it_names() -> None:
    other = dataclasses.replace(S3, project="team-b")
    later = DELETED + dt.timedelta(days=8)
    decisions = plan_expiry([LOCAL, other], now=later, only={"team-b/db"})
    assert [(d.record.shoot, d.verdict) for d in decisions] == [("team-b/db", Verdict.EXPIRED)]
    assert len(plan_expiry([LOCAL, other], now=later, only=())) == 2
    with pytest.raises(KeptBackupsError, match="team-a/db, which only \\(team-b/db\\) leaves out"):
        plan_expiry(
            [LOCAL, other],
            now=DELETED,
            drop_uid=UID,
            confirm=LOCAL.confirmation,
            only={"team-b/db"},
        )
