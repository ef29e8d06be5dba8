from __future__ import annotations

import copy
from typing import Any

import pytest

from airflow_provider_garden.core.shoot_spec import parse_shoot
from airflow_provider_garden.core.spec_fields import SpecError
from airflow_provider_garden.core.validation import ensure_valid, load_shoot, validate

OFFERED = ["1.32.3", "1.33.1"]
RESERVED = ["10.200.0.0/16", "10.96.0.0/16"]
IMAGES = {"gardenlinux": ["1592.2", "1592.4"]}

VALID: dict[str, Any] = {
    "metadata": {"name": "dev", "namespace": "garden-team-a"},
    "spec": {
        "kubernetes": {"version": "1.32.3"},
        "networking": {
            "pods": "100.96.0.0/11",
            "services": "100.64.0.0/13",
            "nodes": "10.250.0.0/16",
        },
        "workers": [
            {
                "name": "pool-a",
                "machine": {"type": "local", "image": {"name": "gardenlinux", "version": "1592.2"}},
                "minimum": 1,
                "maximum": 3,
            }
        ],
        "maintenance": {"timeWindow": {"begin": "220000+0100", "end": "230000+0100"}},
        "addons": {"kustomize": {"path": "overlays/dev"}},
        "backup": {
            "store": {"kind": "s3", "bucket": "etcd-backups", "secretRef": {"name": "s3-creds"}},
            "retention": {"policy": "LimitBased", "maxBackups": 5},
        },
    },
}


def variant(**changes: object) -> dict[str, Any]:
    """VALID with dotted paths set (None deletes)."""
    obj = copy.deepcopy(VALID)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node: Any = obj
        for key in parents:
            node = node[int(key)] if key.isdigit() else node.setdefault(key, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return obj


def errors_of(obj: dict[str, Any], **rules: Any) -> list[str]:
    kwargs: dict[str, Any] = {
        "offered_versions": OFFERED,
        "reserved_cidrs": RESERVED,
        "offered_machine_images": IMAGES,
        **rules,
    }
    return [str(e) for e in validate(parse_shoot(obj), **kwargs)]


def test_valid_spec_has_no_errors() -> None:
    assert errors_of(VALID) == []
    assert errors_of(variant(spec__backup=None, spec__addons=None, spec__workers=[])) == []


WORKER = "spec__workers__0__"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # names
        ({"metadata__name": "Dev_1"}, "metadata.name: name 'Dev_1' must be a DNS-1123 label"),
        ({"metadata__name": "-dev"}, "metadata.name: name '-dev' must be a DNS-1123 label"),
        ({"metadata__name": "a--b"}, "metadata.name: name 'a--b' must not contain '--'"),
        ({"metadata__namespace": "garden-Team"}, "metadata.namespace: project 'Team' must be"),
        ({"metadata__namespace": "garden-"}, "metadata.namespace: project '' must be a DNS-1123"),
        (
            {"metadata__name": "a" * 50},
            "metadata.name: control-plane namespace 'shoot--team-a--aaaa",
        ),
        # versions
        (
            {"spec__kubernetes__version": "1.31.0"},
            "spec.kubernetes.version: '1.31.0' is not offered",
        ),
        (
            {WORKER + "machine": {"type": "local", "image": {"name": "ubuntu", "version": "1.0"}}},
            "spec.workers[0].machine.image.name: 'ubuntu' is not offered",
        ),
        (
            {
                WORKER + "machine": {
                    "type": "local",
                    "image": {"name": "gardenlinux", "version": "9"},
                }
            },
            "spec.workers[0].machine.image.version: '9' must be a version",
        ),
        # workers
        ({WORKER + "minimum": -1}, "spec.workers[0].minimum: must be >= 0, got -1"),
        ({WORKER + "maximum": 0}, "spec.workers[0].maximum: must be >= minimum (1), got 0"),
        (
            {WORKER + "maxSurge": 0, WORKER + "maxUnavailable": "0%"},
            "spec.workers[0].maxUnavailable: maxSurge and maxUnavailable must not both be 0",
        ),
        ({WORKER + "maxUnavailable": "150%"}, "spec.workers[0].maxUnavailable: '150%' must not"),
        (
            {WORKER + "name": "pool-with-a-long-name"},
            "spec.workers[0].name: 'pool-with-a-long-name'",
        ),
        (
            {
                WORKER + "machine": {
                    "type": "m5 large",
                    "image": {"name": "gardenlinux", "version": "1592.2"},
                }
            },
            "spec.workers[0].machine.type: 'm5 large'",
        ),
        # networks
        (
            {"spec__networking__pods": "100.96.0.1/11"},
            "spec.networking.pods: '100.96.0.1/11' is not",
        ),
        ({"spec__networking__pods": "banana"}, "spec.networking.pods: 'banana' is not a network"),
        (
            {"spec__networking__services": "100.96.0.0/16"},
            "spec.networking.services: 100.96.0.0/16 overlaps spec.networking.pods (100.96.0.0/11)",
        ),
        (
            {"spec__networking__nodes": "100.64.0.0/24"},
            "spec.networking.nodes: 100.64.0.0/24 overlaps spec.networking.services",
        ),
        (
            {"spec__networking__nodes": "10.96.128.0/17"},
            "spec.networking.nodes: 10.96.128.0/17 overlaps the seed's reserved network 10.96.0.0/16",
        ),
        (
            {"spec__networking__pods": "10.0.0.0/8"},
            "spec.networking.pods: 10.0.0.0/8 overlaps the seed's reserved network 10.200.0.0/16",
        ),
        (
            {"spec__networking__services": "100.64.0.0/10"},
            "spec.networking.services: 100.64.0.0/10 is larger than /12",
        ),
        (
            {"spec__networking__pods": "100.96.0.0/25"},
            "spec.networking.pods: 100.96.0.0/25 is smaller than /24",
        ),
        # maintenance window
        (
            {"spec__maintenance__timeWindow": {"begin": "22:00", "end": "230000+0100"}},
            "spec.maintenance.timeWindow.begin: '22:00' is not HHMMSS+ZZZZ",
        ),
        (
            {"spec__maintenance__timeWindow": {"begin": "220000+0100", "end": "221500+0100"}},
            "spec.maintenance.timeWindow: window 220000+0100-221500+0100 lasts 0:15:00",
        ),
        (
            {"spec__maintenance__timeWindow": {"begin": "200000+0100", "end": "040000+0100"}},
            "spec.maintenance.timeWindow: window 200000+0100-040000+0100 lasts 8:00:00",
        ),
        # addons
        (
            {"spec__addons__kustomize": {"path": "../../etc"}},
            "spec.addons.kustomize.path: '../../etc' must not contain '..'",
        ),
        (
            {"spec__addons__kustomize": {"path": "/etc/kubernetes"}},
            "spec.addons.kustomize.path: '/etc/kubernetes' must be a relative",
        ),
        (
            {"spec__addons__kustomize": {"path": "https://github.com/x/y//base"}},
            "spec.addons.kustomize.path: 'https://github.com/x/y//base' is remote",
        ),
        (
            {"spec__addons__kustomize": {"path": "github.com/x/y/base"}},
            "spec.addons.kustomize.path: 'github.com/x/y/base' is remote",
        ),
        (
            {"spec__addons__kustomize": {"git": {"url": "https://github.com/x/y", "ref": "main"}}},
            "spec.addons.kustomize.git: remote kustomize sources are off",
        ),
        ({"spec__addons__kustomize": {}}, "spec.addons.kustomize: set exactly one of path and git"),
        # backup
        ({"spec__backup__store__bucket": None}, "spec.backup.store.bucket: required for kind s3"),
        (
            {"spec__backup__store__bucket": "Etcd_Backups"},
            "spec.backup.store.bucket: 'Etcd_Backups' is not",
        ),
        (
            {"spec__backup__store__secretRef": None},
            "spec.backup.store.secretRef: required for kind s3",
        ),
        (
            {"spec__backup__store__prefix": "a/../../b"},
            "spec.backup.store.prefix: 'a/../../b' must not contain '..'",
        ),
        (
            {"spec__backup__store__prefix": "/abs"},
            "spec.backup.store.prefix: '/abs' must be a relative",
        ),
        (
            {"spec__backup__store__prefix": "a b"},
            "spec.backup.store.prefix: 'a b' may only contain",
        ),
        (
            {"spec__backup__store__prefix": "shoot--team-b--prod"},  # another team's shoot
            "spec.backup.store.prefix: 'shoot--team-b--prod' must be 'shoot--team-a--dev' or "
            "below it (shoot--team-a--dev/...): a shoot keeps its snapshots under its own prefix",
        ),
        (
            {"spec__backup__store__prefix": "shoot--team-a--dev2"},  # a sibling, not below
            "spec.backup.store.prefix: 'shoot--team-a--dev2' must be 'shoot--team-a--dev'",
        ),
        (
            {"spec__backup__store__kind": "local"},
            "spec.backup.store.bucket: only used with kind s3",
        ),
        (
            {"spec__backup__store__volumeSize": "1Gi"},
            "spec.backup.store.volumeSize: only used with kind local, not s3",
        ),
        (
            {"spec__backup__store": {"kind": "local", "volumeSize": "256Mi"}},
            "spec.backup.store.volumeSize: 256Mi is less than 512Mi: the store must hold two "
            "snapshots of a database at etcd's quota",
        ),
        (
            {"spec__backup__schedule": "0 25 * * *"},
            "spec.backup.schedule: hour field '25': values must be 0-23",
        ),
        ({"spec__backup__schedule": "hourly"}, "spec.backup.schedule: 'hourly' must have 5 fields"),
        (
            {"spec__backup__retention": {"policy": "LimitBased", "maxBackups": 0}},
            "spec.backup.retention.maxBackups: must be >= 1",
        ),
        (
            {"spec__backup__retention": {"policy": "Exponential", "maxBackups": 3}},
            "spec.backup.retention.maxBackups: only used with policy LimitBased",
        ),
    ],
)
def test_invalid_specs_name_field_and_rule(changes: dict[str, object], expected: str) -> None:
    errors = errors_of(variant(**changes))
    assert any(e.startswith(expected) for e in errors), errors


def test_duplicate_worker_names() -> None:
    pool = VALID["spec"]["workers"][0]
    errors = errors_of(variant(spec__workers=[pool, pool, {**pool, "name": "b"}]))
    assert errors == ["spec.workers[1].name: duplicate worker name 'pool-a' (also 0)"]


def test_remote_addons_when_allowed() -> None:
    git = {"url": "https://github.com/org/addons", "ref": "v1.2.0", "path": "overlays/prod"}
    assert errors_of(variant(spec__addons__kustomize={"git": git}), allow_remote_addons=True) == []
    bad = {"url": "file:///etc", "ref": "--upload-pack=evil", "path": "../x"}
    assert errors_of(variant(spec__addons__kustomize={"git": bad}), allow_remote_addons=True) == [
        "spec.addons.kustomize.git.url: 'file:///etc' must start with https:// or ssh://",
        "spec.addons.kustomize.git.ref: '--upload-pack=evil' is not a branch, tag or commit name",
        "spec.addons.kustomize.git.path: '../x' must not contain '..' (path traversal)",
    ]


def test_every_violation_is_reported() -> None:
    obj = variant(
        metadata__name="Bad",
        spec__kubernetes__version="1.0.0",
        spec__networking__services="100.96.0.0/16",
        spec__workers__0__maxSurge=0,
        spec__workers__0__maxUnavailable=0,
    )
    with pytest.raises(SpecError) as info:
        load_shoot(obj, offered_versions=OFFERED, reserved_cidrs=RESERVED)
    assert [e.path for e in info.value.errors] == [
        "metadata.name",
        "spec.kubernetes.version",
        "spec.workers[0].maxUnavailable",
        "spec.networking.services",
    ]
    message = str(info.value)
    assert message.startswith("invalid Shoot team-a/Bad (4 problem(s)):")
    assert "- spec.kubernetes.version: '1.0.0' is not offered (offered: 1.32.3, 1.33.1)" in message


def test_version_spelling_with_v_matches() -> None:
    spec = parse_shoot(variant(spec__kubernetes__version="v1.32.3"))
    ensure_valid(spec, offered_versions=OFFERED, reserved_cidrs=RESERVED)
    ensure_valid(parse_shoot(VALID), offered_versions=["v1.32.3"], reserved_cidrs=RESERVED)


def test_ipv6_networks() -> None:
    obj = variant(
        spec__networking={
            "pods": "fd00:10::/56",
            "services": "fd00:20::/112",
            "nodes": "fd00:30::/64",
        }
    )
    assert errors_of(obj) == []
    obj = variant(spec__networking={"pods": "fd00:10::/56", "services": "fd00:10::/112"})
    assert errors_of(obj) == [
        "spec.networking.services: fd00:10::/112 overlaps spec.networking.pods (fd00:10::/56)"
    ]


def test_images_are_not_checked_without_a_list() -> None:
    obj = variant(
        **{WORKER + "machine": {"type": "t", "image": {"name": "ubuntu", "version": "1.0"}}}
    )
    assert errors_of(obj, offered_machine_images=None) == []


def test_a_store_volume_size_in_other_units_is_refused_naming_field_and_rule() -> None:
    with pytest.raises(SpecError, match=r"spec.backup.store.volumeSize: '1.5Gi' must be a whole"):
        errors_of(variant(spec__backup__store={"kind": "local", "volumeSize": "1.5Gi"}))


def test_a_prefix_below_the_shoots_own_is_valid() -> None:
    assert errors_of(variant(spec__backup__store__prefix="shoot--team-a--dev/nightly")) == []


def test_weekdays_and_exclusions_are_checked_naming_the_item() -> None:
    errors = errors_of(
        variant(spec__maintenance__weekdays=["Mon", "Funday"], spec__maintenance__exclusions=["x"])
    )
    assert any(e.startswith("spec.maintenance.weekdays[1]:") for e in errors), errors
    assert any(e.startswith("spec.maintenance.exclusions[0]:") for e in errors), errors
    ok = variant(
        spec__maintenance__weekdays=["Sat", "Sun"], spec__maintenance__exclusions=["2026-12-24"]
    )
    assert errors_of(ok) == []
