"""Versions with a life cycle: what a spec may name, what maintenance may choose, and
that a shoot on an expired version is moved in its window while a preview one is kept."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from airflow_provider_garden.core.maintenance import patch_update_target
from airflow_provider_garden.core.maintenance_fleet import plan_shoot
from airflow_provider_garden.core.spec_fields import SpecError
from airflow_provider_garden.core.version_life import Classification, Offering, parse_versions
from airflow_provider_garden.kube.cloudprofile import from_json

BEFORE = dt.datetime(2027, 2, 28, tzinfo=dt.UTC)
AFTER = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
PROFILE = [
    {"version": "1.33.1", "classification": "preview"},
    "1.32.13",
    {
        "version": "1.32.11",
        "classification": "deprecated",
        "expirationDate": "2027-03-01T00:00:00Z",
    },
    {"version": "1.32.9", "classification": "expired"},
]


def test_what_may_be_named_and_what_is_chosen_change_at_the_expiration_date() -> None:
    versions = parse_versions(PROFILE, field="kubernetesVersions")
    assert versions.usable(BEFORE) == ("1.33.1", "1.32.13", "1.32.11")
    assert versions.automatic(BEFORE) == ("1.32.13", "1.32.11")
    assert versions.deprecated(BEFORE) == ("1.32.11",)
    assert versions.usable(AFTER) == ("1.33.1", "1.32.13")
    assert versions.items[2].at(AFTER) is Classification.EXPIRED
    assert versions.to_json() == PROFILE  # a plain supported version stays a string


@pytest.mark.parametrize(
    ("item", "said"),
    [
        ({"version": "1.32.1", "classification": "old"}, "kubernetesVersions[0].classification"),
        ({"version": "1.32.1", "expirationDate": "soon"}, "kubernetesVersions[0].expirationDate"),
        ({"version": "1.32.1", "expirationDate": "2027-03-01T00:00:00"}, "expirationDate"),
        ({"classification": "preview"}, "kubernetesVersions[0]: must be a version"),
    ],
)
def test_a_bad_entry_is_refused_naming_it(item: dict[str, Any], said: str) -> None:
    with pytest.raises(SpecError, match=said.replace("[", r"\[").replace("]", r"\]")):
        parse_versions([item], field="kubernetesVersions")


def test_the_profile_offers_specs_all_but_the_expired_and_round_trips() -> None:
    profile = from_json({"kubernetesVersions": PROFILE, "seedNetworks": []})
    assert profile.kubernetes_versions == ("1.33.1", "1.32.13", "1.32.11", "1.32.9")
    assert profile.offer(AFTER)["offered_versions"] == ("1.33.1", "1.32.13")
    body = json.loads(profile.to_configmap("garden-system")["data"]["profile.json"])
    assert from_json(body) == profile


@pytest.mark.parametrize(
    ("current", "auto", "target"),
    [
        ("1.33.1", False, None),  # preview, chosen by its owner: kept
        ("1.33.1", True, None),  # no newer automatic patch of 1.33
        ("1.32.11", False, "1.32.13"),  # expired (after its date): moved even without auto
        ("1.32.9", False, "1.32.13"),  # classified expired
        ("1.32.13", True, None),
    ],
)
def test_maintenance_moves_off_expired_and_never_onto_preview(
    current: str, auto: bool, target: str | None
) -> None:
    versions = parse_versions(PROFILE, field="kubernetesVersions")
    assert (
        patch_update_target(
            current, versions.automatic(AFTER), auto_update=auto, usable=versions.usable(AFTER)
        )
        == target
    )


def test_a_shoot_on_a_version_past_its_expiration_is_planned_in_its_window() -> None:
    versions = parse_versions(PROFILE, field="kubernetesVersions")
    shoot = {
        "metadata": {"name": "dev", "namespace": "garden-team"},
        "spec": {
            "kubernetes": {"version": "1.32.11"},
            "maintenance": {
                "timeWindow": {"begin": "000000+0000", "end": "010000+0000"},
                "autoUpdate": {"kubernetesVersion": False},
            },
        },
    }
    at = AFTER + dt.timedelta(minutes=30)
    entry = plan_shoot(shoot, at=at, offering=Offering(versions.choice(at), {}))
    assert entry is not None
    assert (entry.kubernetes_version, entry.planned_from, entry.problem) == (
        "1.32.13",
        "1.32.11",
        None,
    )
    before = at - dt.timedelta(days=1)
    kept = plan_shoot(shoot, at=before, offering=Offering(versions.choice(before), {}))
    assert kept is not None
    assert kept.kubernetes_version is None  # deprecated, not yet expired: stays


def test_a_pool_on_an_expired_image_version_is_rolled_in_its_window() -> None:
    profile = from_json(
        {
            "kubernetesVersions": ["1.32.13"],
            "machineImages": {
                "gardenlinux": [
                    {"version": "1592.1", "classification": "expired"},
                    "1592.2",
                    {"version": "1592.3", "classification": "preview"},
                ]
            },
        }
    )
    assert profile.offer(AFTER)["offered_machine_images"] == {"gardenlinux": ("1592.2", "1592.3")}
    shoot = {
        "metadata": {"name": "dev", "namespace": "garden-team"},
        "spec": {
            "kubernetes": {"version": "1.32.13"},
            "workers": [
                {
                    "name": "pool",
                    "machine": {
                        "type": "local",
                        "image": {"name": "gardenlinux", "version": "1592.1"},
                    },
                    "minimum": 1,
                    "maximum": 2,
                }
            ],
            "maintenance": {
                "timeWindow": {"begin": "000000+0000", "end": "010000+0000"},
                "autoUpdate": {"machineImageVersion": False},
            },
        },
    }
    at = AFTER + dt.timedelta(minutes=30)
    entry = plan_shoot(shoot, at=at, offering=profile.offering(at))
    assert entry is not None
    assert [(u.pool, u.version) for u in entry.pools] == [("pool", "1592.2")]  # not the preview
