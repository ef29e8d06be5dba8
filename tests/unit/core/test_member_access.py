"""Short-lived member kubeconfigs: a named user in their role's group, never system:masters,
valid for what was asked; durations refused naming the flag and the rule."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID

from airflow_provider_garden.core import pki
from airflow_provider_garden.core.member_access import (
    AccessError,
    member_bindings,
    member_kubeconfig,
    member_user,
    parse_expiration,
)
from airflow_provider_garden.core.project import Role


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("1m", dt.timedelta(minutes=1)),
        ("90s", dt.timedelta(seconds=90)),
        ("1h", dt.timedelta(hours=1)),
        ("24h", dt.timedelta(hours=24)),
        ("1d", dt.timedelta(days=1)),
    ],
)
def test_durations_from_one_minute_to_a_day(text: str, want: dt.timedelta) -> None:
    assert parse_expiration(text) == want


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("59s", "--expiration: '59s' must be from 1m to 24h"),
        ("25h", "--expiration: '25h' must be from 1m to 24h"),
        ("2d", "--expiration: '2d' must be from 1m to 24h"),
        ("1 hour", "--expiration: '1 hour' is not a duration such as 30m, 1h or 90s"),
        ("0m", "--expiration: '0m' is not a duration"),
        ("", "--expiration: '' is not a duration"),
    ],
)
def test_other_durations_are_refused_naming_the_flag_and_rule(text: str, said: str) -> None:
    with pytest.raises(AccessError) as err:
        parse_expiration(text)
    assert said in str(err.value)


def test_the_shoot_never_sees_a_member_under_a_system_name() -> None:
    assert member_user("system:admin") == "garden:member:system:admin"
    with pytest.raises(AccessError, match="--user"):
        member_user("alice smith")


@pytest.mark.parametrize(
    ("role", "group"),
    [(Role.ADMIN, "garden:project:admins"), (Role.VIEWER, "garden:project:viewers")],
)
def test_a_member_certificate_names_the_user_and_role_group_for_the_time_asked(
    role: Role, group: str
) -> None:
    ca = pki.new_ca("shoot--p--s")
    before = dt.datetime.now(dt.UTC)
    issued = member_kubeconfig(
        ca,
        user="alice",
        role=role,
        expiration=dt.timedelta(minutes=30),
        cluster_name="shoot--p--s",
        server="https://10.0.0.1:30443",
    )
    config = yaml.safe_load(issued.text)
    [user] = config["users"]
    cert = x509.load_pem_x509_certificate(base64.b64decode(user["user"]["client-certificate-data"]))
    subject = cert.subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "garden:member:alice"
    assert [a.value for a in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == [group]
    assert cert.issuer == ca.certificate().subject
    lifetime = cert.not_valid_after_utc - before
    assert dt.timedelta(minutes=29) < lifetime <= dt.timedelta(minutes=30, seconds=5)
    assert issued.expires == cert.not_valid_after_utc
    assert (issued.user, issued.group) == ("garden:member:alice", group)
    assert config["clusters"][0]["cluster"]["server"] == "https://10.0.0.1:30443"


def test_the_shoot_binds_each_member_group_to_its_role() -> None:
    bound = {
        b["subjects"][0]["name"]: b["roleRef"]["name"]  # type: ignore[index]
        for b in member_bindings()
    }
    assert bound == {"garden:project:admins": "cluster-admin", "garden:project:viewers": "view"}
