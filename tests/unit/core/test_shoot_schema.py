"""The Shoot schema is the one source: the model (dataclasses, parser, serializer)
covers exactly its fields, and its one-value rules read like the validator's."""

from __future__ import annotations

import collections.abc
import dataclasses
import datetime as dt
import enum
import json
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

import jsonschema
import pytest

from airflow_provider_garden.core import shoot_schema
from airflow_provider_garden.core.shoot_resource import spec_to_dict
from airflow_provider_garden.core.shoot_schema import (
    SPEC,
    Bool,
    Int,
    IntOrPercent,
    List,
    Map,
    Node,
    Obj,
    Str,
    at,
    json_schema,
    leaves,
    openapi,
    value_errors,
)
from airflow_provider_garden.core.shoot_spec import ShootSpec, parse_shoot
from airflow_provider_garden.core.spec_fields import SpecError
from airflow_provider_garden.core.status import (
    ConditionStatus,
    ConditionType,
    ConstraintType,
    ErrorCode,
    OperationState,
    OperationType,
    ShootStatus,
)
from airflow_provider_garden.core.store_space import SIZE_PATTERN


def _sample(node: Node) -> object:
    """A value unlike the default, so the model shows whether it read the field."""
    if isinstance(node, Obj):
        return {name: _sample(child) for name, child in node.fields.items()}
    if isinstance(node, List):
        return [_sample(node.items)]
    if isinstance(node, Str):
        if node.pattern == shoot_schema.DURATION_PATTERN:
            return "7m"
        if node.pattern == SIZE_PATTERN:
            return "2Gi"
        return node.enum[-1] if node.enum else "x"
    if isinstance(node, Int):
        return (node.minimum or 0) + 2
    if isinstance(node, IntOrPercent):
        return "25%"
    assert isinstance(node, Bool), node
    return node.default is False  # unlike the default: True where it is False


def _leaf_paths(value: object, prefix: str = "") -> set[str]:
    """Paths of a resource in the schema's notation (``workers[].name``)."""
    if isinstance(value, dict) and value:
        paths: set[str] = set()
        for key, child in value.items():
            paths |= _leaf_paths(child, f"{prefix}.{key}" if prefix else key)
        return paths
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return _leaf_paths(value[0], f"{prefix}[]")
    return {prefix}


def _unread_model_fields(value: object, prefix: str) -> list[str]:
    """Model fields still at their default (or None) after parsing a full sample."""
    unread: list[str] = []
    for f in dataclasses.fields(value):  # type: ignore[arg-type]
        current = getattr(value, f.name)
        path = f"{prefix}.{f.name}"
        if isinstance(current, tuple) and current:
            current = current[0]
        if dataclasses.is_dataclass(current):
            unread += _unread_model_fields(current, path)
        elif current is None or current == f.default:
            unread.append(path)
    return unread


def full_sample() -> dict[str, Any]:
    return {
        "metadata": {"name": "dev", "namespace": "garden-team-a"},
        "spec": _sample(SPEC),
    }


def test_every_schema_field_reaches_the_model_and_back() -> None:
    """Drift in either direction: a field only in the CRD is dropped by the model;
    a field only in the model is written where the CRD has no field."""
    in_crd = {path for path, _ in leaves(SPEC)}
    in_model = _leaf_paths(spec_to_dict(parse_shoot(full_sample())))
    only_crd, only_model = sorted(in_crd - in_model), sorted(in_model - in_crd)
    assert not only_crd, f"in the CRD schema, not carried by the model: {only_crd}"
    assert not only_model, f"written by the model, not in the CRD schema: {only_model}"


def test_every_model_field_is_read_from_the_schema() -> None:
    spec = parse_shoot(full_sample())
    unread = _unread_model_fields(spec, "ShootSpec")
    assert not unread, f"model fields no CRD field fills: {unread}"


def test_a_field_outside_the_schema_is_refused() -> None:
    sample = full_sample()
    sample["spec"]["networking"]["ipFamilies"] = ["IPv4"]
    with pytest.raises(ValueError, match=r"spec.networking.ipFamilies: unknown field"):
        parse_shoot(sample)


def test_drift_check_notices_a_schema_only_field(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above is not vacuous: a field added only to the schema fails it."""
    networking = at("spec.networking")
    assert isinstance(networking, Obj)
    grown = dataclasses.replace(networking, fields={**networking.fields, "ipFamily": Str()})
    monkeypatch.setitem(SPEC.fields, "networking", grown)  # type: ignore[index]
    with pytest.raises(AssertionError, match=r"networking\.ipFamily"):
        test_every_schema_field_reaches_the_model_and_back()


def test_openapi_is_structural() -> None:
    """Every property the kube-apiserver sees has a type (or is int-or-string)."""

    def check(schema: dict[str, Any], path: str) -> None:
        assert "type" in schema or schema.get("x-kubernetes-int-or-string"), path
        for name, child in schema.get("properties", {}).items():
            check(child, f"{path}.{name}")
        if "items" in schema:
            check(schema["items"], f"{path}[]")

    check(openapi(shoot_schema.SHOOT), "")


def test_no_part_of_the_crd_is_free_form() -> None:
    """Every status record is typed: nothing is kept that the schema does not declare."""
    assert "x-kubernetes-preserve-unknown-fields" not in json.dumps(openapi(shoot_schema.SHOOT))


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("spec.workers[].name", "Pool", "'Pool' must be a DNS-1123 label of at most 15"),
        ("spec.workers[].name", "a" * 16, "must be a DNS-1123 label of at most 15 characters"),
        ("spec.kubernetes.version", "1.32", "'1.32' must be a version like 1.32.3"),
        ("spec.kubernetes.version", "1.32.3\n", "must be a version"),
        ("spec.workers[].minimum", -1, "must be >= 0, got -1"),
        ("status.lastOperation.progress", 101, "must be <= 100, got 101"),
        ("spec.backup.store.kind", "gcs", "must be one of local, s3, got 'gcs'"),
    ],
)
def test_value_rules_name_the_rule(path: str, value: object, expected: str) -> None:
    (error,) = value_errors(at(path), value, path)
    assert error.path == path
    assert expected in error.rule


def test_values_of_another_type_are_left_to_the_parser() -> None:
    assert value_errors(at("spec.workers[].minimum"), True, "x") == []
    assert value_errors(at("spec.kubernetes.version"), 1, "x") == []


def test_a_pattern_needs_anchors_and_a_rule() -> None:
    with pytest.raises(ValueError, match="anchored"):
        Str(pattern="[a-z]+", rule="must be letters")
    with pytest.raises(ValueError, match="rule text"):
        Str(max_length=3)


def test_parsed_spec_type_is_the_model() -> None:
    assert isinstance(parse_shoot(full_sample()), ShootSpec)


def _filled(kind: Any) -> Any:
    """A value of type ``kind`` with every optional part present (for status records)."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union):
        return _filled(next(a for a in args if a is not type(None)))
    if origin is tuple:
        return (_filled(args[0]),)
    if origin in (dict, Mapping, collections.abc.Mapping):
        return {"pool-a": _filled(args[1])}
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        values = {f.name: _filled(hints[f.name]) for f in dataclasses.fields(kind) if f.init}
        return kind(**values)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return next(iter(kind))
    samples = {str: "x", bool: True, int: 1, dt.datetime: dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}
    return samples[kind]


def _declared(path: str, schema: Node) -> str | None:
    """The schema's path for a written ``path`` (a map key read as ``*``), or None when
    the schema does not declare it (the kube-apiserver would prune it)."""
    node, steps = schema, []
    for step in path.replace("[]", ".[]").split("."):
        if step == "[]" and isinstance(node, List):
            node = node.items
        elif isinstance(node, Map):
            node, step = node.values, "*"
        elif isinstance(node, Obj) and step in node.fields:
            node = node.fields[step]
        else:
            return None
        steps.append(step)
    if isinstance(node, Obj | Map) and not (isinstance(node, Obj) and not node.fields):
        return None  # an object written where the schema wants its fields
    return ".".join(steps).replace(".[]", "[]")


def _status_sample(node: Node, path: str = "status") -> object:
    """A status as another writer might have stored it: every field the schema declares,
    each with a value of its type that the model can read."""
    if isinstance(node, Obj):
        return {k: _status_sample(v, f"{path}.{k}") for k, v in node.fields.items()}
    if isinstance(node, Map):
        return {"pool-a": _status_sample(node.values, f"{path}.*")}
    if isinstance(node, List):
        return [_status_sample(node.items, f"{path}[]")]
    if isinstance(node, Str) and node.format == "date-time":
        return "2026-01-01T00:00:00Z"
    if isinstance(node, Str) and path.endswith("codes[]"):
        return next(
            iter(ErrorCode)
        ).value  # the schema keeps codes open; the model reads known ones
    if isinstance(node, Str) and path.endswith("type") and not node.enum:
        kind = ConstraintType if path.startswith("status.constraints") else ConditionType
        return next(iter(kind)).value
    return _sample(node)


def model_writes_what_the_crd_keeps(schema: Obj = shoot_schema.STATUS) -> None:
    """Model -> CRD: every field of a fully filled ShootStatus is declared, with its type."""
    written = _filled(ShootStatus).to_dict()
    pruned = sorted(p for p in _leaf_paths(written) if _declared(p, schema) is None)
    assert not pruned, f"written by core/status, pruned by the CRD: {pruned}"
    try:
        jsonschema.validate(written, json_schema(schema))
    except jsonschema.ValidationError as err:
        where = ".".join(str(p) for p in err.absolute_path)
        raise AssertionError(
            f"status.{where}: the CRD refuses what core/status writes: {err.message}"
        ) from None


def crd_fields_reach_the_model(schema: Obj = shoot_schema.STATUS) -> None:
    """CRD -> model: every field the schema declares survives a read and a write."""
    stored = _status_sample(schema)
    kept = _leaf_paths(ShootStatus.from_dict(stored).to_dict())  # type: ignore[arg-type]
    kept_declared = {_declared(p, schema) for p in kept}
    dropped = sorted(path for path, _ in leaves(schema) if path not in kept_declared)
    assert not dropped, f"in the CRD's status, dropped by core/status: {dropped}"


def test_the_status_model_writes_only_what_the_crd_keeps() -> None:
    """The kube-apiserver prunes fields its schema lacks and refuses wrong types: a
    status field the model writes must be declared, with the type the model writes."""
    model_writes_what_the_crd_keeps()


def test_every_status_field_of_the_crd_is_read_by_the_model() -> None:
    crd_fields_reach_the_model()


def _edited(path: str, edit: Callable[[Mapping[str, Node]], Mapping[str, Node]]) -> Obj:
    """STATUS with ``edit`` applied to the fields of the object at ``path`` (``*`` for a
    map's values)."""

    def walk(node: Node, steps: list[str]) -> Node:
        if isinstance(node, Map):
            return dataclasses.replace(node, values=walk(node.values, steps[1:]))
        assert isinstance(node, Obj)
        if not steps:
            return dataclasses.replace(node, fields=edit(node.fields))
        head = steps[0]
        return dataclasses.replace(
            node, fields={**node.fields, head: walk(node.fields[head], steps[1:])}
        )

    edited = walk(shoot_schema.STATUS, path.split(".") if path else [])
    assert isinstance(edited, Obj)
    return edited


def _grown(path: str, name: str, node: Node) -> Obj:
    return _edited(path, lambda fields: {**fields, name: node})


def _shrunk(path: str) -> Obj:
    parent, _, name = path.rpartition(".")
    return _edited(parent, lambda fields: {k: v for k, v in fields.items() if k != name})


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("lastBackup", "location"),
        ("lastMaintenance", "window"),
        ("workers.*", "zone"),
        ("workers.*.rollout", "startedAt"),
    ],
)
def test_drift_check_notices_a_status_field_only_in_the_crd(path: str, name: str) -> None:
    with pytest.raises(AssertionError, match=rf"dropped by core/status: .*{name}"):
        crd_fields_reach_the_model(_grown(path, name, Str()))


@pytest.mark.parametrize(
    "path",
    ["lastBackup.sha256", "lastMaintenance.failureReason", "workers.*.updated", "workers.*.image"],
)
def test_drift_check_notices_a_status_field_only_in_the_model(path: str) -> None:
    """The model writes a field the CRD lacks: as if the field were added to the model."""
    with pytest.raises(AssertionError, match="pruned by the CRD"):
        model_writes_what_the_crd_keeps(_shrunk(path))


@pytest.mark.parametrize(
    ("path", "name", "node"),
    [
        ("lastBackup", "verified", Str()),
        ("lastBackup", "size", Str()),
        ("workers.*", "machines", Bool()),
        ("lastMaintenance", "state", Str(enum=("Done",))),
        ("workers.*.rollout", "state", Str(enum=("Done",))),
    ],
)
def test_drift_check_notices_a_type_the_model_does_not_write(
    path: str, name: str, node: Node
) -> None:
    with pytest.raises(AssertionError, match="the CRD refuses what core/status writes"):
        model_writes_what_the_crd_keeps(_grown(path, name, node))


def test_status_enums_are_the_models() -> None:
    status = openapi(shoot_schema.STATUS)["properties"]
    last = status["lastOperation"]["properties"]
    assert last["type"]["enum"] == [str(m) for m in OperationType]
    assert last["state"]["enum"] == [str(m) for m in OperationState]
    assert status["conditions"]["items"]["properties"]["status"]["enum"] == [
        str(m) for m in ConditionStatus
    ]
    states = [str(m) for m in OperationState]
    assert status["lastMaintenance"]["properties"]["state"]["enum"] == states
    pool = status["workers"]["additionalProperties"]["properties"]
    assert pool["rollout"]["properties"]["state"]["enum"] == states


def _object_fields(node: Node, path: str = "spec") -> list[tuple[str, str, bool]]:
    """(object path, field, required) for every field of every object in the spec."""
    out: list[tuple[str, str, bool]] = []
    if isinstance(node, List):
        return _object_fields(node.items, f"{path}.0")
    if isinstance(node, Obj):
        for name, child in node.fields.items():
            out.append((path, name, name in node.required))
            out += _object_fields(child, f"{path}.{name}")
    return out


@pytest.mark.parametrize(("path", "name", "required"), _object_fields(SPEC))
def test_required_fields_are_the_parsers(path: str, name: str, required: bool) -> None:
    """The CRD refuses a missing field exactly when parse_shoot does."""
    sample = full_sample()
    node: Any = sample
    for step in path.split("."):
        node = node[int(step)] if step.isdigit() else node[step]
    del node[name]
    if required:
        with pytest.raises(SpecError, match="required"):
            parse_shoot(sample)
    else:
        parse_shoot(sample)
