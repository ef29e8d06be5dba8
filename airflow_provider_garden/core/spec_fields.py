"""Field errors and a reader that turns a camelCase mapping into typed values.

The reader never stops at the first problem: it records every one with its field
path (``spec.workers[1].maxSurge``) so a user fixes a spec in one round trip.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class FieldError:
    path: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}: {self.rule}"


class SpecError(ValueError):
    """A spec broke one or more rules; the message lists every field and rule."""

    def __init__(self, subject: str, errors: Sequence[FieldError]) -> None:
        self.errors = tuple(errors)
        listing = "\n".join(f"- {e}" for e in self.errors)
        super().__init__(f"invalid {subject} ({len(self.errors)} problem(s)):\n{listing}")


class FieldReader:
    """Typed access to nested mappings that collects errors instead of raising."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def fail(self, path: str, rule: str) -> None:
        self.errors.append(FieldError(path, rule))

    def mapping(
        self, parent: Mapping[str, object], key: str, path: str, *, allowed: Sequence[str]
    ) -> Mapping[str, object] | None:
        """A nested object (None when absent) whose keys must all be in ``allowed``."""
        value = parent.get(key)
        if value is None:
            return None
        return self.object_at(value, f"{path}.{key}", allowed=allowed)

    def object_at(
        self, value: object, path: str, *, allowed: Sequence[str]
    ) -> Mapping[str, object] | None:
        if not isinstance(value, Mapping):
            self.fail(path, f"must be an object, got {_kind(value)}")
            return None
        for extra in sorted(set(value) - set(allowed)):
            self.fail(f"{path}.{extra}", f"unknown field (known: {', '.join(allowed)})")
        return value

    def items(
        self, parent: Mapping[str, object], key: str, path: str
    ) -> Iterator[tuple[str, object]]:
        """Yield (path, item) for a list field; nothing when absent."""
        value = parent.get(key)
        if value is None:
            return
        if not isinstance(value, list):
            self.fail(f"{path}.{key}", f"must be a list, got {_kind(value)}")
            return
        for index, item in enumerate(value):
            yield f"{path}.{key}[{index}]", item

    def string(
        self, parent: Mapping[str, object] | None, key: str, path: str, default: str | None = None
    ) -> str:
        """A required string; a missing one is recorded and read as ``""``."""
        value = self.optional(parent, key, path, str, "a string")
        if value is None:
            if default is None:
                self.fail(f"{path}.{key}", "required")
                return ""
            return default
        return value

    def optional(
        self,
        parent: Mapping[str, object] | None,
        key: str,
        path: str,
        kind: type[T],
        described: str,
    ) -> T | None:
        value = None if parent is None else parent.get(key)
        if value is None:
            return None
        # bool is an int in Python; a YAML `true` must not pass for a count.
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            self.fail(f"{path}.{key}", f"must be {described}, got {_kind(value)}")
            return None
        return value

    def integer(self, parent: Mapping[str, object] | None, key: str, path: str) -> int:
        """A required integer; a missing or mistyped one is recorded and read as 0."""
        if parent is None or parent.get(key) is None:
            self.fail(f"{path}.{key}", "required")
            return 0
        return self.optional(parent, key, path, int, "an integer") or 0


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )
