"""The Shoot spec model and its parser from the custom resource's camelCase dict.

Layout of the resource (field names follow Gardener's Shoot where one exists)::

    metadata: {name: dev, namespace: garden-team-a}       # project = team-a
    spec:
      kubernetes: {version: 1.32.3}
      networking: {pods: 100.96.0.0/11, services: 100.64.0.0/13, nodes: 10.250.0.0/16}
      workers:
      - name: pool-a
        machine: {type: local, image: {name: gardenlinux, version: "1592.2"}}
        minimum: 1
        maximum: 3
        maxSurge: 1            # int or "25%"
        maxUnavailable: 0
      maintenance:
        timeWindow: {begin: 220000+0100, end: 230000+0100}
        autoUpdate: {kubernetesVersion: true, machineImageVersion: true}
      addons:
        kustomize: {path: overlays/dev}                 # or {git: {url, ref, path}}
      backup:
        store: {kind: s3, bucket: etcd-backups, prefix: team-a/dev, secretRef: {name: s3}}
        # or store: {kind: local, volumeSize: 2Gi}     # default 768Mi (core/store_space.py)
        schedule: "0 * * * *"
        autoRestore: false                              # true: restore lost etcd data by itself
        retention: {policy: Exponential}               # or {policy: LimitBased, maxBackups: 7}

``parse_shoot`` checks shapes and types (and rejects fields :mod:`.shoot_schema`
does not declare, which are usually typos); :mod:`.validation` checks the values.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from . import intstr, naming
from .shoot_schema import (
    DEFAULT_BACKUP_SCHEDULE,
    DEFAULT_MACHINE_HEALTH_TIMEOUT,
    DEFAULT_MAX_BACKUPS,
    DEFAULT_PODS_CIDR,
    DEFAULT_RETENTION_AFTER_DELETION,
    DEFAULT_SERVICES_CIDR,
    DURATION_PATTERN,
    RetentionPolicy,
    SnapstoreKind,
    keys,
)
from .spec_fields import FieldReader, SpecError
from .store_space import ETCD_VOLUME, default_store_bytes, parse_size

__all__ = [
    "DEFAULT_BACKUP_SCHEDULE",
    "DEFAULT_MAX_BACKUPS",
    "DEFAULT_PODS_CIDR",
    "DEFAULT_SERVICES_CIDR",
    "RetentionPolicy",
    "SnapstoreKind",
]


def parse_duration(text: str) -> dt.timedelta:
    """``90s``, ``10m``, ``1h``: the durations :data:`DURATION_PATTERN` admits."""
    if not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError(f"{text!r} must be a number with s, m or h (e.g. 10m)")
    unit = {"s": "seconds", "m": "minutes", "h": "hours"}[text[-1]]
    return dt.timedelta(**{unit: int(text[:-1])})


def format_duration(value: dt.timedelta) -> str:
    """The text :func:`parse_duration` reads back: whole hours, minutes or seconds."""
    seconds = int(value.total_seconds())
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


DEFAULT_HEALTH_TIMEOUT = parse_duration(DEFAULT_MACHINE_HEALTH_TIMEOUT)
DEFAULT_KEEP_AFTER_DELETION = parse_duration(DEFAULT_RETENTION_AFTER_DELETION)


PROJECT_NAMESPACE_PREFIX = naming.project_namespace("")


@dataclass(frozen=True, kw_only=True)
class MachineImage:
    name: str
    version: str


@dataclass(frozen=True, kw_only=True)
class Worker:
    name: str
    machine_type: str
    image: MachineImage
    minimum: int
    maximum: int
    max_surge: intstr.IntOrPercent = 1
    max_unavailable: intstr.IntOrPercent = 0
    machine_health_timeout: dt.timedelta = DEFAULT_HEALTH_TIMEOUT
    allow_scale_to_zero: bool = False


@dataclass(frozen=True, kw_only=True)
class Networking:
    pods: str = DEFAULT_PODS_CIDR
    services: str = DEFAULT_SERVICES_CIDR
    nodes: str | None = None


@dataclass(frozen=True, kw_only=True)
class Maintenance:
    begin: str
    end: str
    # Gardener defaults both to true: patch updates are what keeps clusters secure.
    auto_update_kubernetes: bool = True
    auto_update_machine_image: bool = True
    # Beyond Gardener: the window opens only on these days (empty: every day), never
    # on these dates (YYYY-MM-DD), both on the calendar of the begin time's offset.
    weekdays: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class GitSource:
    url: str
    ref: str
    path: str = "."


@dataclass(frozen=True, kw_only=True)
class Addons:
    """A kustomization: a ``path`` in the DAG bundle or a directory in a ``git`` repo."""

    path: str | None = None
    git: GitSource | None = None


@dataclass(frozen=True, kw_only=True)
class SnapstoreRef:
    kind: SnapstoreKind
    prefix: str
    bucket: str | None = None
    secret_name: str | None = None
    volume_size: int | None = None  # bytes; kind local only (None: store_space's default)

    @property
    def volume_bytes(self) -> int:
        """The local store's volume size: as the spec says, else sized from etcd's quota."""
        if self.volume_size is not None:
            return self.volume_size
        return default_store_bytes(parse_size(ETCD_VOLUME))


@dataclass(frozen=True, kw_only=True)
class Backup:
    store: SnapstoreRef
    schedule: str = DEFAULT_BACKUP_SCHEDULE
    policy: RetentionPolicy = RetentionPolicy.EXPONENTIAL
    max_backups: int | None = None
    retention_after_deletion: dt.timedelta = DEFAULT_KEEP_AFTER_DELETION
    # Restore the newest good snapshot when etcd's data are found lost (else refuse).
    auto_restore: bool = False

    @property
    def keep_last(self) -> int:
        """How many full snapshots the LimitBased policy keeps."""
        return DEFAULT_MAX_BACKUPS if self.max_backups is None else self.max_backups


@dataclass(frozen=True, kw_only=True)
class ShootSpec:
    project: str
    name: str
    kubernetes_version: str
    workers: tuple[Worker, ...] = ()
    networking: Networking = Networking()
    maintenance: Maintenance
    addons: Addons | None = None
    backup: Backup | None = None

    @property
    def namespace(self) -> str:
        """The seed namespace holding the control plane."""
        return naming.controlplane_namespace(self.project, self.name)

    @property
    def project_namespace(self) -> str:
        """Where the Shoot resource and its kubeconfig Secret live."""
        return naming.project_namespace(self.project)


def default_window(project: str, name: str) -> tuple[str, str]:
    """A one-hour window whose hour comes from the shoot's identity.

    Gardener picks a random window so that a fleet is not updated all at once; a
    hash spreads shoots the same way but gives the same answer on every parse.
    """
    hour = hashlib.sha256(f"{project}/{name}".encode()).digest()[0] % 24
    return f"{hour:02d}0000+0000", f"{(hour + 1) % 24:02d}0000+0000"


def new_spec(
    project: str,
    name: str,
    kubernetes_version: str,
    *,
    workers: Sequence[Worker] = (),
    networking: Networking = Networking(),
    addons: Addons | None = None,
    backup: Backup | None = None,
) -> ShootSpec:
    """A ShootSpec as ``parse_shoot`` reads a Shoot that leaves out the maintenance
    window (one hour picked from its name); for code that writes Shoots itself."""
    begin, end = default_window(project, name)
    return ShootSpec(
        project=project,
        name=name,
        kubernetes_version=kubernetes_version,
        workers=tuple(workers),
        networking=networking,
        maintenance=Maintenance(begin=begin, end=end),
        addons=addons,
        backup=backup,
    )


def parse_shoot(obj: Mapping[str, object]) -> ShootSpec:
    """Read a Shoot resource (``metadata`` + ``spec``); raise SpecError listing every problem."""
    r = FieldReader()
    root = r.object_at(obj, "", allowed=keys("")) or {}
    if root.get("kind", "Shoot") != "Shoot":
        r.fail("kind", f"must be Shoot, got {root.get('kind')!r}")
    meta = _loose(r, root, "metadata")
    name = r.string(meta, "name", "metadata")
    namespace = r.string(meta, "namespace", "metadata")
    project = namespace.removeprefix(PROJECT_NAMESPACE_PREFIX)
    if namespace and not namespace.startswith(PROJECT_NAMESPACE_PREFIX):
        r.fail(
            "metadata.namespace", f"must be {PROJECT_NAMESPACE_PREFIX}<project>, got {namespace!r}"
        )
    spec = r.mapping(root, "spec", "", allowed=keys("spec")) or {}
    if "spec" not in root:
        r.fail("spec", "required")
    kubernetes = r.mapping(spec, "kubernetes", "spec", allowed=keys("spec.kubernetes"))
    version = r.string(kubernetes, "version", "spec.kubernetes")
    workers = tuple(_worker(r, path, item) for path, item in r.items(spec, "workers", "spec"))
    net = r.mapping(spec, "networking", "spec", allowed=keys("spec.networking"))
    networking = Networking(
        pods=r.string(net, "pods", "spec.networking", DEFAULT_PODS_CIDR),
        services=r.string(net, "services", "spec.networking", DEFAULT_SERVICES_CIDR),
        nodes=r.optional(net, "nodes", "spec.networking", str, "a string"),
    )
    result = ShootSpec(
        project=project,
        name=name,
        kubernetes_version=version,
        workers=workers,
        networking=networking,
        maintenance=_maintenance(r, spec, project, name),
        addons=_addons(r, spec),
        backup=_backup(r, spec, project, name),
    )
    if r.errors:
        raise SpecError(f"Shoot {namespace or '?'}/{name or '?'}", r.errors)
    return result


def _loose(r: FieldReader, parent: Mapping[str, object], key: str) -> Mapping[str, object]:
    """An object whose other keys (labels, uid, ...) are none of our business."""
    value = parent.get(key)
    if not isinstance(value, Mapping):
        r.fail(key, "required" if value is None else "must be an object")
        return {}
    return value


def _worker(r: FieldReader, path: str, item: object) -> Worker:
    allowed = keys("spec.workers[]")
    w = r.object_at(item, path, allowed=allowed) or {}
    machine = r.mapping(w, "machine", path, allowed=keys("spec.workers[].machine"))
    if machine is None:
        r.fail(f"{path}.machine", "required")
    image = r.mapping(
        machine or {}, "image", f"{path}.machine", allowed=keys("spec.workers[].machine.image")
    )
    return Worker(
        name=r.string(w, "name", path),
        machine_type=r.string(machine, "type", f"{path}.machine"),
        image=MachineImage(
            name=r.string(image, "name", f"{path}.machine.image"),
            version=r.string(image, "version", f"{path}.machine.image"),
        ),
        minimum=r.integer(w, "minimum", path),
        maximum=r.integer(w, "maximum", path),
        max_surge=_int_or_percent(r, w, "maxSurge", path, default=1),
        max_unavailable=_int_or_percent(r, w, "maxUnavailable", path, default=0),
        machine_health_timeout=_duration(
            r, w, "machineHealthTimeout", path, default=DEFAULT_MACHINE_HEALTH_TIMEOUT
        ),
        allow_scale_to_zero=r.optional(w, "allowScaleToZero", path, bool, "true/false") is True,
    )


def _duration(
    r: FieldReader, parent: Mapping[str, object], key: str, path: str, *, default: str
) -> dt.timedelta:
    try:
        return parse_duration(r.string(parent, key, path, default=default))
    except ValueError as exc:
        r.fail(f"{path}.{key}", str(exc))
        return parse_duration(default)


def _size(r: FieldReader, parent: Mapping[str, object] | None, key: str, path: str) -> int | None:
    text = r.optional(parent, key, path, str, "a string")
    if text is None:
        return None
    try:
        return parse_size(text)
    except ValueError as exc:
        r.fail(f"{path}.{key}", str(exc))
        return None


def _int_or_percent(
    r: FieldReader, parent: Mapping[str, object], key: str, path: str, *, default: int
) -> intstr.IntOrPercent:
    value = parent.get(key)
    if value is None:
        return default
    try:
        return intstr.check(value)
    except ValueError as exc:
        r.fail(f"{path}.{key}", str(exc))
        return default


def _maintenance(
    r: FieldReader, spec: Mapping[str, object], project: str, name: str
) -> Maintenance:
    m = r.mapping(spec, "maintenance", "spec", allowed=keys("spec.maintenance")) or {}
    window = r.mapping(
        m, "timeWindow", "spec.maintenance", allowed=keys("spec.maintenance.timeWindow")
    )
    auto = r.mapping(
        m, "autoUpdate", "spec.maintenance", allowed=keys("spec.maintenance.autoUpdate")
    )
    path = "spec.maintenance.autoUpdate"
    if window is None:
        begin, end = default_window(project, name)
    else:
        begin = r.string(window, "begin", "spec.maintenance.timeWindow")
        end = r.string(window, "end", "spec.maintenance.timeWindow")
    days: dict[str, list[str]] = {"weekdays": [], "exclusions": []}
    for key, values in days.items():
        for at, item in r.items(m, key, "spec.maintenance"):
            if isinstance(item, str):
                values.append(item)
            else:
                r.fail(at, "must be a string")
    return Maintenance(
        begin=begin,
        end=end,
        weekdays=tuple(days["weekdays"]),
        exclusions=tuple(days["exclusions"]),
        auto_update_kubernetes=_flag(
            r.optional(auto, "kubernetesVersion", path, bool, "true/false")
        ),
        auto_update_machine_image=_flag(
            r.optional(auto, "machineImageVersion", path, bool, "true/false")
        ),
    )


def _flag(value: bool | None) -> bool:
    return True if value is None else value


def _addons(r: FieldReader, spec: Mapping[str, object]) -> Addons | None:
    addons = r.mapping(spec, "addons", "spec", allowed=keys("spec.addons"))
    if addons is None:
        return None
    path = "spec.addons.kustomize"
    k = r.mapping(addons, "kustomize", "spec.addons", allowed=keys("spec.addons.kustomize"))
    if k is None:
        r.fail(path, "required")
        return None
    git = r.mapping(k, "git", path, allowed=keys("spec.addons.kustomize.git"))
    return Addons(
        path=r.optional(k, "path", path, str, "a string"),
        git=None
        if git is None
        else GitSource(
            url=r.string(git, "url", f"{path}.git"),
            ref=r.string(git, "ref", f"{path}.git"),
            path=r.string(git, "path", f"{path}.git", "."),
        ),
    )


def _backup(r: FieldReader, spec: Mapping[str, object], project: str, name: str) -> Backup | None:
    b = r.mapping(spec, "backup", "spec", allowed=keys("spec.backup"))
    if b is None:
        return None
    store = r.mapping(b, "store", "spec.backup", allowed=keys("spec.backup.store"))
    if store is None:
        r.fail("spec.backup.store", "required")
    path = "spec.backup.store"
    secret = r.mapping(store or {}, "secretRef", path, allowed=keys("spec.backup.store.secretRef"))
    retention = (
        r.mapping(b, "retention", "spec.backup", allowed=keys("spec.backup.retention")) or {}
    )
    return Backup(
        store=SnapstoreRef(
            kind=_enum(r, store, "kind", path, SnapstoreKind, SnapstoreKind.LOCAL),
            # Default prefix: the shoot's namespace keeps shoots apart in a shared bucket.
            prefix=r.string(store, "prefix", path, naming.controlplane_namespace(project, name)),
            bucket=r.optional(store, "bucket", path, str, "a string"),
            secret_name=None if secret is None else r.string(secret, "name", f"{path}.secretRef"),
            volume_size=_size(r, store, "volumeSize", path),
        ),
        schedule=r.string(b, "schedule", "spec.backup", DEFAULT_BACKUP_SCHEDULE),
        policy=_enum(
            r,
            retention,
            "policy",
            "spec.backup.retention",
            RetentionPolicy,
            RetentionPolicy.EXPONENTIAL,
        ),
        max_backups=r.optional(retention, "maxBackups", "spec.backup.retention", int, "an integer"),
        retention_after_deletion=_duration(
            r,
            b,
            "retentionAfterDeletion",
            "spec.backup",
            default=DEFAULT_RETENTION_AFTER_DELETION,
        ),
        auto_restore=r.optional(b, "autoRestore", "spec.backup", bool, "true/false") is True,
    )


E = TypeVar("E", bound=enum.StrEnum)


def _enum(
    r: FieldReader,
    parent: Mapping[str, object] | None,
    key: str,
    path: str,
    kind: type[E],
    default: E,
) -> E:
    value = r.optional(parent, key, path, str, "a string")
    if value is None:
        return default
    try:
        return kind(value)
    except ValueError:
        r.fail(f"{path}.{key}", f"must be one of {', '.join(kind)}, got {value!r}")
        return default
