"""A record's fields as one table: attribute, JSON key, how the value is read and written.

``to_dict`` and ``from_dict`` of a record walk the same :class:`FieldTable`, so a
field cannot be written under one key and read under another, or be added to one
direction and forgotten in the other. Reading is the reader's rule (tolerant or
strict, and which error names the field); the table only says which key and which
rule. Keys the table does not name are ignored on reading.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Self

# (the whole mapping, the field's key, the path of the mapping for messages) -> value
Reader = Callable[[Mapping[str, Any], str, str], Any]
Writer = Callable[[Any], Any]


def camel(name: str) -> str:
    """``last_update_time`` -> ``lastUpdateTime``."""
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def as_is(value: Any) -> Any:
    return value


def plain(value: Any) -> Any:
    """The JSON form of a value that has an obvious one: an enum's value, a record's
    ``to_dict``, a tuple as a list, a mapping's values in their JSON form; anything JSON
    has already (text, numbers, booleans, None) as it is. Other types (a datetime:
    which format?) need a writer of their own."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float):
        return value
    raise TypeError(f"no plain JSON form for {type(value).__name__}; give the field a writer")


def as_named(name: str) -> str:
    """Keys that are the attribute names: records only this provider's own tasks read
    (XCom), where no Kubernetes convention applies."""
    return name


def given(convert: Callable[[Any], Any] = as_is, *, required: bool = False) -> Reader:
    """A reader for records this provider wrote itself (XCom between its own tasks): the
    value as written (None when absent), through ``convert``; a ``required`` key that is
    absent raises KeyError, as the writer always writes it."""

    def read(data: Mapping[str, Any], key: str, path: str) -> Any:
        return convert(data[key] if required else data.get(key))

    return read


@dataclass(frozen=True)
class Field:
    """``name`` is the attribute; ``key`` its JSON key (default: the table's naming)."""

    name: str
    read: Reader
    write: Writer = plain
    key: str = ""


class FieldTable:
    def __init__(self, *fields: Field, naming: Callable[[str], str] = camel) -> None:
        fields = tuple(f if f.key else replace(f, key=naming(f.name)) for f in fields)
        keys = [f.key for f in fields]
        names = [f.name for f in fields]
        if len(set(keys)) != len(keys) or len(set(names)) != len(names):
            raise ValueError(f"a field table names each field and key once: {names} {keys}")
        self.fields = fields

    def read(self, data: Mapping[str, Any], path: str) -> dict[str, Any]:
        """The record's constructor arguments: each field read by its rule, in order."""
        return {f.name: f.read(data, f.key, path) for f in self.fields}

    def write(self, record: object) -> dict[str, Any]:
        """Every field under its key, an absent one as None (the record decides what to
        leave out)."""
        return {f.key: f.write(getattr(record, f.name)) for f in self.fields}


class Record:
    """A dataclass converted to and from JSON by its ``FIELDS``; ``PATH`` is where such a
    record stands, for messages that name a field."""

    FIELDS: ClassVar[FieldTable]
    PATH: ClassVar[str]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str | None = None) -> Self:
        return cls(**cls.FIELDS.read(data, cls.PATH if path is None else path))

    def to_dict(self) -> dict[str, Any]:
        return self.FIELDS.write(self)
