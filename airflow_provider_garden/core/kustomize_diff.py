"""What an apply would change, as field paths: never values.

The diff compares the live object with the server's dry-run answer to the same
server-side apply, so defaulting, admission and field ownership are the
server's, not a guess. Only paths are reported (``spec.replicas``,
``data.password``): a Secret's values, or anything else, never reach logs or
the result.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .kustomize_objects import ObjectRef

# Written by the server on every change; not part of what the user declared.
_VOLATILE_METADATA = frozenset(
    {"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink"}
)
MAX_PATHS_PER_OBJECT = 8


class Action(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    RECREATE = "recreate"
    PRUNE = "prune"


_SIGN = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.RECREATE: "!",
    Action.PRUNE: "-",
    Action.UNCHANGED: "=",
}


@dataclass(frozen=True, kw_only=True)
class Change:
    ref: ObjectRef
    action: Action
    paths: tuple[str, ...] = ()
    note: str = ""

    def line(self) -> str:
        text = f"{_SIGN[self.action]} {self.ref}"
        if self.paths:
            shown = ", ".join(self.paths[:MAX_PATHS_PER_OBJECT])
            more = len(self.paths) - MAX_PATHS_PER_OBJECT
            text += f": {shown}" + (f" (+{more} more)" if more > 0 else "")
        if self.note:
            text += f" ({self.note})"
        return text


def comparable(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object without status and server-written metadata."""
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _VOLATILE_METADATA}
    out["metadata"] = meta
    return out


def changed_paths(live: Mapping[str, Any], desired: Mapping[str, Any]) -> list[str]:
    """Dotted paths where ``desired`` (the dry-run result) differs from ``live``."""
    paths: list[str] = []
    _walk(comparable(live), comparable(desired), "", paths)
    return paths


def _walk(a: Any, b: Any, path: str, out: list[str]) -> None:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in sorted(set(a) | set(b), key=str):
            _walk(a.get(key), b.get(key), f"{path}.{key}" if path else str(key), out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _walk(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(path or ".")


@dataclass(kw_only=True)
class DiffSummary:
    changes: list[Change] = field(default_factory=list)

    def of(self, action: Action) -> list[Change]:
        return [c for c in self.changes if c.action is action]

    @property
    def changed(self) -> bool:
        return any(c.action is not Action.UNCHANGED for c in self.changes)

    def counts(self) -> dict[str, int]:
        return {a.value: len(self.of(a)) for a in Action}

    def lines(self) -> list[str]:
        return [c.line() for c in self.changes if c.action is not Action.UNCHANGED]
