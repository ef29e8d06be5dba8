"""The shape of a Shoot resource, declared once.

Everything else derives from this tree: the CRD's openAPIV3Schema (so the
kube-apiserver refuses what the provider would), the fields ``parse_shoot``
accepts, the one-value rules ``validate`` reports (patterns, lengths, bounds,
enums) and the JSON schema of the ``garden_provision`` form. Rules between
values (overlapping networks, minimum <= maximum) stay in :mod:`.validation`.

A rule's ``rule`` text completes "'<value>' ..." so that the validator names
the field and the rule, while the CRD carries the same pattern.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .spec_fields import FieldError
from .status.enums import ConditionStatus, DrillState, OperationState, OperationType
from .store_space import SIZE_PATTERN, SIZE_RULE

# Gardener's defaults for shoot networks: far from typical 10.x seed and node ranges.
DEFAULT_PODS_CIDR = "100.96.0.0/11"
DEFAULT_SERVICES_CIDR = "100.64.0.0/13"
DEFAULT_BACKUP_SCHEDULE = "0 * * * *"
DEFAULT_MAX_BACKUPS = 7
WORKER_NAME_MAX = 15  # leaves room for "<shoot>-<pool>-<suffix>" machine names
DNS_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class SnapstoreKind(enum.StrEnum):
    LOCAL = "local"
    S3 = "s3"


class RetentionPolicy(enum.StrEnum):
    EXPONENTIAL = "Exponential"
    LIMIT_BASED = "LimitBased"


@dataclass(frozen=True, kw_only=True)
class Node:
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class Str(Node):
    default: str | None = None
    enum: tuple[str, ...] = ()
    pattern: str | None = None  # anchored (^...$), RE2 and Python alike
    max_length: int | None = None
    rule: str = ""  # what a value breaking pattern or max_length must be
    format: str | None = None

    def __post_init__(self) -> None:
        if self.pattern and not (self.pattern.startswith("^") and self.pattern.endswith("$")):
            raise ValueError(f"pattern {self.pattern!r} must be anchored with ^ and $")
        if (self.pattern or self.max_length) and not self.rule:
            raise ValueError("a pattern or max_length needs a rule text for its error message")


@dataclass(frozen=True, kw_only=True)
class Int(Node):
    default: int | None = None
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True, kw_only=True)
class Bool(Node):
    default: bool | None = None


@dataclass(frozen=True, kw_only=True)
class IntOrPercent(Node):
    """``2`` or ``"25%"``; :mod:`.intstr` checks the text."""

    default: int | str | None = None


@dataclass(frozen=True, kw_only=True)
class List(Node):
    items: Node


@dataclass(frozen=True, kw_only=True)
class Obj(Node):
    fields: Mapping[str, Node] = field(default_factory=dict)
    required: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Map(Node):
    """An object keyed by names the user chose (``status.workers.<pool>``); a path
    steps into its values with ``*``."""

    values: Node


def _enum(kind: type[enum.StrEnum], default: enum.StrEnum, description: str) -> Str:
    return Str(enum=tuple(str(m) for m in kind), default=str(default), description=description)


DURATION_PATTERN = "^[0-9]+(s|m|h)$"
DEFAULT_MACHINE_HEALTH_TIMEOUT = "10m"
# How long a deleted shoot's snapshots stay (7 days), in DURATION_PATTERN's units.
DEFAULT_RETENTION_AFTER_DELETION = "168h"

_TIME = Str(
    pattern="^[0-9]{6}[+-][0-9]{4}$",
    rule="is not HHMMSS+ZZZZ (e.g. 220000+0100)",
    description="Time of day with a fixed UTC offset, HHMMSS+ZZZZ.",
)

WORKER = Obj(
    description="A pool of machines of one type and image.",
    required=("name", "machine", "minimum", "maximum"),
    fields={
        "name": Str(
            pattern=DNS_LABEL,
            max_length=WORKER_NAME_MAX,
            rule=f"must be a DNS-1123 label of at most {WORKER_NAME_MAX} characters",
            description="Pool name, unique within the shoot.",
        ),
        "machine": Obj(
            required=("type", "image"),
            description="What each machine of the pool is.",
            fields={
                "type": Str(
                    pattern="^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$",
                    rule="must be letters, digits, '.', '_', '-'",
                    description="Machine type offered by the seed's driver (local: kwok).",
                ),
                "image": Obj(
                    required=("name", "version"),
                    description="Machine image; maintenance updates its version.",
                    fields={
                        "name": Str(
                            pattern=DNS_LABEL,
                            max_length=63,
                            rule="must be a DNS-1123 label",
                            description="Image name from the CloudProfile.",
                        ),
                        "version": Str(
                            pattern=r"^[0-9]+(\.[0-9]+)+$",
                            rule="must be a version like 1592.2 or 1.2.3",
                            description="Image version from the CloudProfile.",
                        ),
                    },
                ),
            },
        ),
        "minimum": Int(minimum=0, description="Fewest machines of the pool."),
        "maximum": Int(minimum=0, description="Most machines of the pool (>= minimum)."),
        "maxSurge": IntOrPercent(
            default=1, description="Machines a rollout may add above maximum (2 or '25%')."
        ),
        "maxUnavailable": IntOrPercent(
            default=0, description="Machines a rollout may take away at once (2 or '25%')."
        ),
        "machineHealthTimeout": Str(
            default=DEFAULT_MACHINE_HEALTH_TIMEOUT,
            pattern=DURATION_PATTERN,
            rule="must be a number with s, m or h (e.g. 10m)",
            description="How long a machine's node may stay NotReady or Unknown before "
            "the machine is replaced (e.g. 10m).",
        ),
        "allowScaleToZero": Bool(
            default=False,
            description="Let a rollout of a pool whose minimum is 0 remove all its machines.",
        ),
    },
)

SPEC = Obj(
    description="Desired state of the shoot.",
    required=("kubernetes",),
    fields={
        "kubernetes": Obj(
            required=("version",),
            description="The control plane's Kubernetes.",
            fields={
                "version": Str(
                    pattern=r"^v?[0-9]+\.[0-9]+\.[0-9]+$",
                    rule="must be a version like 1.32.3",
                    description="Kubernetes version: one the seed's CloudProfile offers.",
                ),
            },
        ),
        "workers": List(
            items=WORKER,
            description="Worker pools. Empty: a control plane without machines.",
        ),
        "networking": Obj(
            description="The shoot's networks; they must not overlap each other or the seed's.",
            fields={
                "pods": Str(default=DEFAULT_PODS_CIDR, description="Pod network (CIDR)."),
                "services": Str(
                    default=DEFAULT_SERVICES_CIDR,
                    description="Service network (CIDR), at most a /12.",
                ),
                "nodes": Str(description="Node network (CIDR) of the machines."),
            },
        ),
        "maintenance": Obj(
            description="When and what maintenance may change.",
            fields={
                "timeWindow": Obj(
                    required=("begin", "end"),
                    description="Daily window (30 min to 6 h; may cross midnight). Default: "
                    "one hour picked from the shoot's name.",
                    fields={"begin": _TIME, "end": _TIME},
                ),
                "weekdays": List(
                    description="Days the window opens on (default: every day), on the "
                    "calendar of its begin time's offset.",
                    items=Str(enum=("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")),
                ),
                "exclusions": List(
                    description="Dates (YYYY-MM-DD) the window does not open on.",
                    items=Str(
                        pattern="^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
                        rule="must be a date YYYY-MM-DD",
                    ),
                ),
                "autoUpdate": Obj(
                    description="Which patch updates maintenance applies.",
                    fields={
                        "kubernetesVersion": Bool(
                            default=True, description="Kubernetes patch versions."
                        ),
                        "machineImageVersion": Bool(
                            default=True, description="Machine image versions."
                        ),
                    },
                ),
            },
        ),
        "addons": Obj(
            description="What is applied into the shoot after it is ready.",
            required=("kustomize",),
            fields={
                "kustomize": Obj(
                    description="A kustomization: a path in the DAG bundle or a git directory.",
                    fields={
                        "path": Str(description="Relative path in the DAG bundle."),
                        "git": Obj(
                            description="A directory of a git repository (remote sources "
                            "must be allowed).",
                            required=("url", "ref"),
                            fields={
                                "url": Str(description="https:// or ssh:// URL."),
                                "ref": Str(description="Branch, tag or commit."),
                                "path": Str(default=".", description="Directory in the repo."),
                            },
                        ),
                    },
                ),
            },
        ),
        "backup": Obj(
            description="Where etcd snapshots go and how long they stay.",
            required=("store",),
            fields={
                "store": Obj(
                    description="The snapshot store.",
                    fields={
                        "kind": _enum(
                            SnapstoreKind,
                            SnapstoreKind.LOCAL,
                            "local (a volume in the seed) or s3.",
                        ),
                        "bucket": Str(
                            pattern="^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
                            rule="is not a valid S3 bucket name",
                            description="S3 bucket (kind s3).",
                        ),
                        "prefix": Str(
                            pattern="^[A-Za-z0-9._/-]+$",
                            rule="may only contain letters, digits, '.', '_', '-', '/'",
                            description="Key prefix; default: the control plane's namespace.",
                        ),
                        "volumeSize": Str(
                            pattern=SIZE_PATTERN,
                            rule=SIZE_RULE,
                            description="Size of the local store's volume (kind local; default "
                            "three snapshots at etcd's quota, 768Mi; at least two, 512Mi). "
                            "A larger size expands the volume if its StorageClass allows.",
                        ),
                        "secretRef": Obj(
                            required=("name",),
                            description="Secret in garden-<project> with accessKeyID, "
                            "secretAccessKey, endpoint, region (kind s3).",
                            fields={
                                "name": Str(
                                    pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?"
                                    r"(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
                                    max_length=253,
                                    rule="is not a valid Secret name",
                                    description="Name of the Secret.",
                                ),
                            },
                        ),
                    },
                ),
                "schedule": Str(
                    default=DEFAULT_BACKUP_SCHEDULE, description="Cron schedule of full snapshots."
                ),
                "autoRestore": Bool(
                    default=False,
                    description="When etcd's data directory is lost (missing, or older than "
                    "the newest good snapshot), restore that snapshot before etcd starts; "
                    "false: etcd does not start and the Shoot reports ERR_ETCD_DATA_LOST.",
                ),
                "retention": Obj(
                    description="Which snapshots are kept.",
                    fields={
                        "policy": _enum(
                            RetentionPolicy,
                            RetentionPolicy.EXPONENTIAL,
                            "Exponential (hourly, daily, weekly) or LimitBased (maxBackups).",
                        ),
                        "maxBackups": Int(
                            minimum=1, description="Full snapshots kept by LimitBased (default 7)."
                        ),
                    },
                ),
                "retentionAfterDeletion": Str(
                    default=DEFAULT_RETENTION_AFTER_DELETION,
                    pattern=DURATION_PATTERN,
                    rule="must be a number with s, m or h (e.g. 168h)",
                    description="How long the snapshots stay after the shoot is deleted "
                    "(default 168h, 7 days); garden_backup expires them after that.",
                ),
            },
        ),
    },
)

_TIMESTAMP = Str(format="date-time")

# Condition and constraint types stay open strings: a reader of an older or newer
# version must not have its whole status write refused for one unknown type.
_OBSERVED = Obj(
    required=("type", "status"),
    fields={
        "type": Str(),
        "status": Str(enum=tuple(str(m) for m in ConditionStatus)),
        "reason": Str(),
        "message": Str(),
        "lastTransitionTime": _TIMESTAMP,
        "lastUpdateTime": _TIMESTAMP,
        "codes": List(items=Str()),
    },
)

_STATE = Str(enum=tuple(str(m) for m in OperationState))


# The records of core/status, field by field, typed as the model reads them; value
# rules only where the model has them too (progress). tests/unit/core/test_shoot_schema.py
# fails when a record and its schema differ in a field or a type, either way.
LAST_MAINTENANCE = Obj(
    description="The last maintenance run and how it ended.",
    fields={
        "description": Str(),
        "state": _STATE,
        "triggeredTime": _TIMESTAMP,
        "failureReason": Str(),
    },
)
LAST_BACKUP = Obj(
    description="The newest snapshot that passed verification.",
    fields={
        "snapshot": Str(description="Key of the snapshot in the store."),
        "created": _TIMESTAMP,
        "verified": Bool(),
        "endRevision": Int(description="etcd revision the snapshot ends at."),
        "size": Int(description="Bytes in the store."),
        "sha256": Str(),
    },
)
LAST_RESTORE_DRILL = Obj(
    description="The last restore drill: the newest good snapshot restored into a scratch etcd.",
    fields={
        "time": _TIMESTAMP,
        "snapshot": Str(description="Key of the snapshot the drill restored."),
        "revision": Int(description="etcd revision the restored data served."),
        "objects": Int(description="Kubernetes objects (keys under /registry/) it held."),
        "state": Str(enum=tuple(str(m) for m in DrillState)),
        "description": Str(description="What the drill found, or every reason it failed."),
    },
)
WORKER_POOL_STATUS = Obj(
    description="A worker pool's machines and its rollout, as last observed.",
    fields={
        "machines": Int(),
        "ready": Int(),
        "image": Obj(fields={"name": Str(), "version": Str()}),
        "versions": List(
            items=Obj(fields={"version": Str(), "machines": Int()}),
        ),
        "lastUpdateTime": _TIMESTAMP,
        "updated": Int(),
        "rollout": Obj(
            description="The pool's last rollout.",
            fields={
                "state": _STATE,
                "targetVersion": Str(),
                "description": Str(),
                "failedMachines": List(items=Str()),
            },
        ),
        "replaced": List(
            description="The latest machines the health check replaced.",
            items=Obj(
                fields={
                    "machine": Str(),
                    "replacement": Str(),
                    "reason": Str(),
                    "time": _TIMESTAMP,
                }
            ),
        ),
        "refilled": List(
            description="The latest machines the health check created for the pool below "
            "its minimum.",
            items=Obj(
                fields={
                    "machine": Str(),
                    "reason": Str(),
                    "time": _TIMESTAMP,
                }
            ),
        ),
    },
)

STATUS = Obj(
    description="Observed state, written by the provider.",
    fields={
        "observedGeneration": Int(),
        "kubernetesVersion": Str(),
        "lastOperation": Obj(
            fields={
                "type": Str(enum=tuple(str(m) for m in OperationType)),
                "state": _STATE,
                "progress": Int(minimum=0, maximum=100),
                "description": Str(),
                "lastUpdateTime": _TIMESTAMP,
            }
        ),
        "lastErrors": List(
            items=Obj(
                fields={
                    "description": Str(),
                    "codes": List(items=Str()),
                    "taskID": Str(),
                    "lastUpdateTime": _TIMESTAMP,
                }
            )
        ),
        "lastMaintenance": LAST_MAINTENANCE,
        "lastBackup": LAST_BACKUP,
        "lastRestoreDrill": LAST_RESTORE_DRILL,
        "workers": Map(values=WORKER_POOL_STATUS, description="Each worker pool by its name."),
        "conditions": List(items=_OBSERVED),
        "constraints": List(items=_OBSERVED),
    },
)

SHOOT = Obj(
    required=("spec",),
    fields={
        "apiVersion": Str(),
        "kind": Str(),
        "metadata": Obj(),
        "spec": SPEC,
        "status": STATUS,
    },
)


def at(path: str, root: Node = SHOOT) -> Node:
    """The node at a dotted path; ``[]`` steps into a list's items (``spec.workers[].name``),
    ``*`` into a map's values (``status.workers.*.ready``)."""
    node = root
    for step in path.replace("[]", ".[]").split(".") if path else ():
        if step == "[]" and isinstance(node, List):
            node = node.items
        elif step == "*" and isinstance(node, Map):
            node = node.values
        elif isinstance(node, Obj) and step in node.fields:
            node = node.fields[step]
        else:
            raise KeyError(f"no field {step!r} in {path!r}")
    return node


def keys(path: str) -> tuple[str, ...]:
    """The field names an object at ``path`` allows."""
    node = at(path)
    if not isinstance(node, Obj):
        raise TypeError(f"{path} is not an object")
    return tuple(node.fields)


def leaves(node: Node, prefix: str = "") -> Iterator[tuple[str, Node]]:
    """(path, node) of every value that is not an object (lists as ``name[]``, maps'
    values as ``name.*``)."""
    if isinstance(node, Obj) and node.fields:
        for name, child in node.fields.items():
            yield from leaves(child, f"{prefix}.{name}" if prefix else name)
    elif isinstance(node, List) and isinstance(node.items, Obj | Map):
        yield from leaves(node.items, f"{prefix}[]")
    elif isinstance(node, Map):
        yield from leaves(node.values, f"{prefix}.*")
    else:
        yield prefix, node


def openapi(node: Node) -> dict[str, Any]:
    """The CRD's structural openAPIV3Schema for ``node`` (no defaults: nothing is stored
    that the user did not write)."""
    out: dict[str, Any] = {"description": node.description} if node.description else {}
    if isinstance(node, Obj):
        out["type"] = "object"
        if node.required:
            out["required"] = list(node.required)
        if node.fields:
            out["properties"] = {k: openapi(v) for k, v in node.fields.items()}
    elif isinstance(node, Map):
        out.update(type="object", additionalProperties=openapi(node.values))
    elif isinstance(node, List):
        out.update(type="array", items=openapi(node.items))
    elif isinstance(node, IntOrPercent):
        out["x-kubernetes-int-or-string"] = True
    elif isinstance(node, Str):
        out["type"] = "string"
        out.update(_string_keywords(node))
    elif isinstance(node, Int):
        out["type"] = "integer"
        out.update(_int_keywords(node))
    elif isinstance(node, Bool):
        out["type"] = "boolean"
    return out


def json_schema(node: Node) -> dict[str, Any]:
    """Plain JSON schema for forms (Airflow Params): unknown fields refused as by
    ``parse_shoot``; defaults shown."""
    out: dict[str, Any]
    if isinstance(node, Obj):
        out = {"type": "object", "properties": {k: json_schema(v) for k, v in node.fields.items()}}
        if node.required:
            out["required"] = list(node.required)
        out["additionalProperties"] = False
    elif isinstance(node, Map):
        out = {"type": "object", "additionalProperties": json_schema(node.values)}
    elif isinstance(node, List):
        out = {"type": "array", "items": json_schema(node.items)}
    elif isinstance(node, IntOrPercent):
        out = {"type": ["integer", "string"], "minimum": 0, "pattern": "^[0-9]+%$"}
    elif isinstance(node, Str):
        out = {"type": "string", **_string_keywords(node)}
    elif isinstance(node, Int):
        out = {"type": "integer", **_int_keywords(node)}
    else:
        out = {"type": "boolean"}
    if getattr(node, "default", None) is not None:
        out["default"] = node.default  # type: ignore[attr-defined]
    if node.description:
        out["description"] = node.description
    return out


def _string_keywords(node: Str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if node.enum:
        out["enum"] = list(node.enum)
    if node.pattern:
        out["pattern"] = node.pattern
    if node.max_length is not None:
        out["maxLength"] = node.max_length
    if node.format:
        out["format"] = node.format
    return out


def _int_keywords(node: Int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if node.minimum is not None:
        out["minimum"] = node.minimum
    if node.maximum is not None:
        out["maximum"] = node.maximum
    return out


def value_errors(node: Node, value: object, path: str) -> list[FieldError]:
    """Every one-value rule (pattern, length, bounds, enum) ``value`` breaks.

    Types and unknown fields are the parser's; a value of the wrong type is skipped.
    """
    errors: list[FieldError] = []
    if isinstance(node, Obj) and isinstance(value, Mapping):
        for name, child in node.fields.items():
            if value.get(name) is not None:
                errors += value_errors(child, value[name], f"{path}.{name}")
    elif isinstance(node, List) and isinstance(value, list):
        for index, item in enumerate(value):
            errors += value_errors(node.items, item, f"{path}[{index}]")
    elif isinstance(node, Map) and isinstance(value, Mapping):
        for key, item in value.items():
            errors += value_errors(node.values, item, f"{path}.{key}")
    elif isinstance(node, Str) and isinstance(value, str):
        problem = _string_problem(node, value)
        if problem:
            errors.append(FieldError(path, problem))
    elif isinstance(node, Int) and isinstance(value, int) and not isinstance(value, bool):
        if node.minimum is not None and value < node.minimum:
            errors.append(FieldError(path, f"must be >= {node.minimum}, got {value}"))
        elif node.maximum is not None and value > node.maximum:
            errors.append(FieldError(path, f"must be <= {node.maximum}, got {value}"))
    return errors


def _string_problem(node: Str, value: str) -> str | None:
    if node.enum and value not in node.enum:
        return f"must be one of {', '.join(node.enum)}, got {value!r}"
    too_long = node.max_length is not None and len(value) > node.max_length
    if too_long or (node.pattern and not re.fullmatch(node.pattern[1:-1], value)):
        return f"{value!r} {node.rule}"
    return None
