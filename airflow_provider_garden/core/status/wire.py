"""Reading and writing status fields: the one place that knows the wire types.

Readers are tolerant of what older versions wrote (a missing field is a default),
strict about what no version wrote (a wrong type or an unknown enum value raises
:class:`StatusError` naming the field and the rule).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from airflow_provider_garden.core.fields import Record

E = TypeVar("E", bound=enum.StrEnum)
T = TypeVar("T")
R = TypeVar("R", bound=Record)

# Kubernetes' metav1.Time: RFC 3339 in UTC, whole seconds.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class StatusError(ValueError):
    """A status field does not have the shape the model expects."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


def format_time(at: dt.datetime) -> str:
    if at.tzinfo is None:
        raise ValueError(f"a status time must carry a time zone, got naive {at.isoformat()}")
    return at.astimezone(dt.UTC).strftime(TIME_FORMAT)


def truncated(at: dt.datetime) -> dt.datetime:
    """``at`` as it reads back after a write: in UTC, whole seconds."""
    if at.tzinfo is None:
        raise ValueError(f"a status time must carry a time zone, got naive {at.isoformat()}")
    return at.astimezone(dt.UTC).replace(microsecond=0)


def time_or_none(data: Mapping[str, Any], key: str, path: str) -> dt.datetime | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return truncated(value)
    if not isinstance(value, str):
        raise StatusError(f"{path}.{key}", f"must be an RFC 3339 time string, got {value!r}")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise StatusError(f"{path}.{key}", f"must be an RFC 3339 time, got {value!r}") from None
    if parsed.tzinfo is None:
        raise StatusError(f"{path}.{key}", f"must carry a time zone, got {value!r}")
    return truncated(parsed)


def time(data: Mapping[str, Any], key: str, path: str) -> dt.datetime:
    """A time that must be there."""
    at = time_or_none(data, key, path)
    if at is None:
        raise StatusError(f"{path}.{key}", "is required")
    return at


def time_text(at: dt.datetime | None) -> str | None:
    return None if at is None else format_time(at)


def member(kind: type[E], value: Any, path: str) -> E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise StatusError(path, f"must be one of {allowed}, got {value!r}") from None


def member_or_none(kind: type[E], data: Mapping[str, Any], key: str, path: str) -> E | None:
    value = data.get(key)
    return None if value is None or value == "" else member(kind, value, f"{path}.{key}")


def member_of(
    kind: type[E], default: E | None = None
) -> Callable[[Mapping[str, Any], str, str], E]:
    """A reader of a ``kind`` member; an absent one is ``default``, or refused without one."""

    def read(data: Mapping[str, Any], key: str, path: str) -> E:
        if default is not None:
            return member_or_none(kind, data, key, path) or default
        return member(kind, data.get(key), f"{path}.{key}")

    return read


def members_of(kind: type[E]) -> Callable[[Mapping[str, Any], str, str], tuple[E, ...]]:
    """A reader of a list of ``kind`` members (absent: empty)."""

    def read(data: Mapping[str, Any], key: str, path: str) -> tuple[E, ...]:
        values = texts(data, key, path)
        return tuple(member(kind, v, f"{path}.{key}[{i}]") for i, v in enumerate(values))

    return read


def _typed(data: Mapping[str, Any], key: str, path: str, kind: type[T], rule: str) -> T | None:
    """The value at ``key``, None where absent; refused unless a ``kind`` (a bool is no integer)."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise StatusError(f"{path}.{key}", f"{rule}, got {value!r}")
    return value


def text(data: Mapping[str, Any], key: str, path: str, default: str = "") -> str:
    value = _typed(data, key, path, str, "must be a string")
    return default if value is None else value


def text_or_none(data: Mapping[str, Any], key: str, path: str) -> str | None:
    return text(data, key, path) if data.get(key) is not None else None


def integer_or_none(data: Mapping[str, Any], key: str, path: str) -> int | None:
    return _typed(data, key, path, int, "must be an integer")


def integer(data: Mapping[str, Any], key: str, path: str, default: int = 0) -> int:
    value = integer_or_none(data, key, path)
    return default if value is None else value


def flag(data: Mapping[str, Any], key: str, path: str) -> bool:
    value = _typed(data, key, path, bool, "must be true or false")
    return False if value is None else value


def mapping(data: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise StatusError(f"{path}.{key}", f"must be an object, got {value!r}")
    return value


def items(data: Mapping[str, Any], key: str, path: str) -> list[tuple[str, Mapping[str, Any]]]:
    """The entries of a list of objects as (path of the entry, entry)."""
    value = data.get(key)
    if value is None:
        return []
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise StatusError(f"{path}.{key}", f"must be a list, got {value!r}")
    out = []
    for i, entry in enumerate(value):
        if not isinstance(entry, Mapping):
            raise StatusError(f"{path}.{key}[{i}]", f"must be an object, got {entry!r}")
        out.append((f"{path}.{key}[{i}]", entry))
    return out


def record_of(kind: type[R]) -> Callable[[Mapping[str, Any], str, str], R | None]:
    """A reader of a nested record; absent (or empty) is None."""

    def read(data: Mapping[str, Any], key: str, path: str) -> R | None:
        value = mapping(data, key, path)
        return kind.from_dict(value, f"{path}.{key}") if value else None

    return read


def records_of(kind: type[R]) -> Callable[[Mapping[str, Any], str, str], tuple[R, ...]]:
    """A reader of a list of records (absent: empty)."""

    def read(data: Mapping[str, Any], key: str, path: str) -> tuple[R, ...]:
        return tuple(kind.from_dict(entry, at) for at, entry in items(data, key, path))

    return read


def texts(data: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise StatusError(f"{path}.{key}", f"must be a list of strings, got {value!r}")
    for i, entry in enumerate(value):
        if not isinstance(entry, str):
            raise StatusError(f"{path}.{key}[{i}]", f"must be a string, got {entry!r}")
    return tuple(value)
