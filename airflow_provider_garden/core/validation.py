"""Rules of a Shoot spec; every violation is reported with its field path and rule.

Runs before anything is created, so a bad spec fails in milliseconds instead of
as a half-built control plane. One-value rules (patterns, lengths, bounds) come
from :mod:`.shoot_schema`, which the CRD is generated from; this module adds the
rules between values and against what the seed offers. A field gets one error.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from itertools import combinations
from typing import Required, TypedDict, Unpack

from . import intstr, maintenance, naming, shoot_schema
from .cron import cron_problem
from .name_rules import name_problem, project_problem
from .settings import DEFAULT_NAMESPACE
from .shoot_resource import spec_to_dict
from .shoot_spec import (
    Addons,
    Backup,
    Maintenance,
    RetentionPolicy,
    ShootSpec,
    SnapstoreKind,
    Worker,
    parse_shoot,
)
from .spec_fields import FieldError, SpecError
from .store_space import ETCD_VOLUME, format_size, min_store_bytes, parse_size

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_Fail = Callable[[str, str], None]

_GIT_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,254}")
_HOST_PATH = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/")  # github.com/org
_NAMESPACE_MAX = 63
# kube-apiserver refuses larger service ranges; kube-controller-manager gives each
# node a /24 (IPv4) or /64 (IPv6) slice of the pod range.
_SERVICES_MIN_PREFIX = {4: 12, 6: 108}
_PODS_MAX_PREFIX = {4: 24, 6: 64}


def validate(
    spec: ShootSpec,
    *,
    offered_versions: Sequence[str],
    reserved_cidrs: Sequence[str],
    offered_machine_images: Mapping[str, Sequence[str]] | None = None,
    allow_remote_addons: bool = False,
    provider_namespace: str = DEFAULT_NAMESPACE,
) -> list[FieldError]:
    """Every rule ``spec`` breaks (empty when valid).

    :param offered_versions: Kubernetes versions the seed offers (``1.32.3``).
    :param reserved_cidrs: networks of the seed (pods, services, nodes) a shoot's
        networks must not overlap.
    :param offered_machine_images: image name -> versions; None skips the check.
    :param allow_remote_addons: whether kustomize sources may come from a remote URL.
    :param provider_namespace: ``[garden] namespace``; no project may map onto it.
    """
    errors = shoot_schema.value_errors(shoot_schema.SPEC, spec_to_dict(spec), "spec")
    failed = {e.path for e in errors}

    def fail(path: str, rule: str) -> None:
        if path not in failed:
            failed.add(path)
            errors.append(FieldError(path, rule))

    project = project_problem(spec.project, provider_namespace=provider_namespace)
    if project:
        fail("metadata.namespace", f"project {project}")
    name = name_problem(spec.name)
    if name:
        fail("metadata.name", f"name {name}")
    if len(spec.namespace) > _NAMESPACE_MAX:
        fail(
            "metadata.name",
            f"control-plane namespace {spec.namespace!r} has {len(spec.namespace)} characters, "
            f"more than {_NAMESPACE_MAX}; shorten the project or shoot name",
        )
    # "v1.32.3" and "1.32.3" name the same release; the CRD accepts both spellings.
    if spec.kubernetes_version.removeprefix("v") not in {
        v.removeprefix("v") for v in offered_versions
    }:
        fail(
            "spec.kubernetes.version",
            f"{spec.kubernetes_version!r} is not offered (offered: {', '.join(offered_versions)})",
        )
    seen: dict[str, int] = {}
    for index, worker in enumerate(spec.workers):
        path = f"spec.workers[{index}]"
        if worker.name in seen:
            fail(
                f"{path}.name", f"duplicate worker name {worker.name!r} (also {seen[worker.name]})"
            )
        seen.setdefault(worker.name, index)
        _check_worker(fail, path, worker, offered_machine_images)
    _check_networks(fail, spec, reserved_cidrs)
    _check_window(fail, spec.maintenance)
    if spec.addons is not None:
        _check_addons(fail, spec.addons, allow_remote=allow_remote_addons)
    if spec.backup is not None:
        _check_backup(
            fail, spec.backup, own_prefix=naming.controlplane_namespace(spec.project, spec.name)
        )
    return errors


class Offer(TypedDict, total=False):
    """What a spec is validated against: :func:`validate`'s keyword arguments, for the
    functions that pass them on."""

    offered_versions: Required[Sequence[str]]
    reserved_cidrs: Required[Sequence[str]]
    offered_machine_images: Mapping[str, Sequence[str]] | None
    allow_remote_addons: bool
    provider_namespace: str


def ensure_valid(spec: ShootSpec, **offer: Unpack[Offer]) -> None:
    """Raise SpecError listing every violation (arguments as for ``validate``)."""
    errors = validate(spec, **offer)
    if errors:
        raise SpecError(f"Shoot {spec.project}/{spec.name}", errors)


def load_shoot(obj: Mapping[str, object], **offer: Unpack[Offer]) -> ShootSpec:
    """Parse and validate a Shoot resource in one step."""
    spec = parse_shoot(obj)
    ensure_valid(spec, **offer)
    return spec


def _check_worker(
    fail: _Fail, path: str, w: Worker, images: Mapping[str, Sequence[str]] | None
) -> None:
    image = f"{path}.machine.image"
    if images is not None:
        if w.image.name not in images:
            fail(f"{image}.name", f"{w.image.name!r} is not offered ({', '.join(images)})")
        elif w.image.version not in images[w.image.name]:
            offered = ", ".join(images[w.image.name])
            fail(f"{image}.version", f"{w.image.version!r} is not offered (offered: {offered})")
    if w.maximum < w.minimum:
        fail(f"{path}.maximum", f"must be >= minimum ({w.minimum}), got {w.maximum}")
    unavailable = w.max_unavailable
    if isinstance(unavailable, str) and intstr.percent(unavailable) > 100:
        fail(f"{path}.maxUnavailable", f"{unavailable!r} must not exceed 100%")
    if intstr.is_zero(w.max_surge) and intstr.is_zero(unavailable):
        fail(
            f"{path}.maxUnavailable",
            "maxSurge and maxUnavailable must not both be 0: "
            "a rollout could then neither add nor remove a machine",
        )


def _check_networks(fail: _Fail, spec: ShootSpec, reserved_cidrs: Sequence[str]) -> None:
    net = spec.networking
    named: list[tuple[str, Network]] = []
    for path, text in (
        ("spec.networking.pods", net.pods),
        ("spec.networking.services", net.services),
        ("spec.networking.nodes", net.nodes),
    ):
        if text is None:
            continue
        try:
            network = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            fail(path, f"{text!r} is not a network in CIDR notation ({exc})")
            continue
        named.append((path, network))
        if path.endswith("services") and network.prefixlen < _SERVICES_MIN_PREFIX[network.version]:
            limit = _SERVICES_MIN_PREFIX[network.version]
            fail(path, f"{text} is larger than /{limit}, which kube-apiserver refuses")
        if path.endswith("pods") and network.prefixlen > _PODS_MAX_PREFIX[network.version]:
            limit = _PODS_MAX_PREFIX[network.version]
            fail(path, f"{text} is smaller than /{limit}, one node's share of pod addresses")
    for (path_a, a), (path_b, b) in combinations(named, 2):
        if a.version == b.version and a.overlaps(b):
            fail(path_b, f"{b} overlaps {path_a} ({a})")
    for text in reserved_cidrs:
        seed = ipaddress.ip_network(text, strict=False)
        for path, network in named:
            if network.version == seed.version and network.overlaps(seed):
                fail(path, f"{network} overlaps the seed's reserved network {seed}")


def _check_window(fail: _Fail, spec: Maintenance) -> None:
    path = "spec.maintenance.timeWindow"
    ok = True
    for key, value in (("begin", spec.begin), ("end", spec.end)):
        try:
            maintenance.parse_time(value)
        except ValueError as exc:
            fail(f"{path}.{key}", str(exc))
            ok = False
    for i, day in enumerate(spec.weekdays):
        if day not in maintenance.WEEKDAYS:
            fail(
                f"spec.maintenance.weekdays[{i}]",
                f"must be one of {', '.join(maintenance.WEEKDAYS)}",
            )
            ok = False
    for i, text in enumerate(spec.exclusions):
        try:
            dt.date.fromisoformat(text)
        except ValueError:
            fail(f"spec.maintenance.exclusions[{i}]", f"{text!r} is not a date YYYY-MM-DD")
            ok = False
    if ok:
        try:
            maintenance.window_of(spec)
        except ValueError as exc:
            fail(path, str(exc))


def _check_addons(fail: _Fail, addons: Addons, *, allow_remote: bool) -> None:
    path = "spec.addons.kustomize"
    if (addons.path is None) == (addons.git is None):
        fail(path, "set exactly one of path and git")
    if addons.path is not None:
        if not allow_remote and _looks_remote(addons.path):
            fail(f"{path}.path", f"{addons.path!r} is remote; remote kustomize sources are off")
        else:
            _check_relative(fail, f"{path}.path", addons.path)
    git = addons.git
    if git is None:
        return
    if not allow_remote:
        fail(f"{path}.git", "remote kustomize sources are off (allow them explicitly)")
        return
    if not git.url.startswith(("https://", "ssh://")):
        fail(f"{path}.git.url", f"{git.url!r} must start with https:// or ssh://")
    if not _GIT_REF.fullmatch(git.ref) or ".." in git.ref or git.ref.endswith(("/", ".lock")):
        fail(f"{path}.git.ref", f"{git.ref!r} is not a branch, tag or commit name")
    if git.path != ".":
        _check_relative(fail, f"{path}.git.path", git.path)


def _check_backup(fail: _Fail, backup: Backup, *, own_prefix: str) -> None:
    path = "spec.backup.store"
    store = backup.store
    if store.kind is SnapstoreKind.S3:
        if not store.bucket:
            fail(f"{path}.bucket", "required for kind s3")
        elif ".." in store.bucket:
            fail(f"{path}.bucket", f"{store.bucket!r} is not a valid S3 bucket name")
        if not store.secret_name:
            fail(f"{path}.secretRef", "required for kind s3 (the Secret with the credentials)")
        if store.volume_size is not None:
            fail(f"{path}.volumeSize", f"only used with kind local, not {store.kind}")
    else:
        for key, value in (("bucket", store.bucket), ("secretRef", store.secret_name)):
            if value is not None:
                fail(f"{path}.{key}", f"only used with kind s3, not {store.kind}")
        least = min_store_bytes(parse_size(ETCD_VOLUME))
        if store.volume_size is not None and store.volume_size < least:
            fail(
                f"{path}.volumeSize",
                f"{format_size(store.volume_size)} is less than {format_size(least)}: the store "
                "must hold two snapshots of a database at etcd's quota",
            )
    _check_relative(fail, f"{path}.prefix", store.prefix)
    if store.prefix != own_prefix and not store.prefix.startswith(f"{own_prefix}/"):
        # Snapshots of other shoots (other projects) live under their own prefixes.
        fail(
            f"{path}.prefix",
            f"{store.prefix!r} must be {own_prefix!r} or below it ({own_prefix}/...): "
            "a shoot keeps its snapshots under its own prefix only",
        )
    problem = cron_problem(backup.schedule)
    if problem:
        fail("spec.backup.schedule", problem)
    retention = "spec.backup.retention.maxBackups"
    if backup.policy is not RetentionPolicy.LIMIT_BASED and backup.max_backups is not None:
        fail(retention, f"only used with policy {RetentionPolicy.LIMIT_BASED}")


def _check_relative(fail: _Fail, path: str, value: str) -> None:
    """A relative path that stays below its root."""
    if not value:
        fail(path, "must not be empty")
    elif value.startswith("/") or "\\" in value:
        fail(path, f"{value!r} must be a relative path with '/' separators")
    elif ".." in value.split("/"):
        fail(path, f"{value!r} must not contain '..' (path traversal)")
    elif any(ord(c) < 32 for c in value):
        fail(path, f"{value!r} must not contain control characters")


def _looks_remote(value: str) -> bool:
    return "://" in value or value.startswith("git@") or bool(_HOST_PATH.match(value))
