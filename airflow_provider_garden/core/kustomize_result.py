"""The kustomize verb's result (small enough for a termination message) and API errors.

The result travels through the container's termination message (4 KiB at most),
so lists are cut to fit and the number left out is recorded beside them.

API errors are turned into messages that name the object and fields, without
the values the server quotes: a Job's immutable-template error, for example,
contains the whole pod template, env values included.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .kustomize_diff import Action, DiffSummary

RESULT_BUDGET = 3800  # bytes of compact JSON; the kubelet keeps 4096
_LISTS = ("diff", "applied", "pruned", "unchanged", "kept")
_IMMUTABLE = re.compile(r"immutable|may not change once set", re.IGNORECASE)
_MANAGER = re.compile(r'conflict with "([^"]+)"')


class Mode(enum.StrEnum):
    """``apply`` changes the target; ``diff`` only reports what apply would change."""

    APPLY = "apply"
    DIFF = "diff"


def _causes(status: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    details = status.get("details") or {}
    return [c for c in details.get("causes") or [] if isinstance(c, Mapping)]


def _rule(message: str) -> str:
    """The server's rule, which follows the last ': ' after any quoted value."""
    return message.rsplit(": ", 1)[-1][:120]


def immutable_fields(status: Mapping[str, Any]) -> list[str]:
    """``field (rule)`` for every immutable-field cause of a 422 Status; empty if none."""
    if status.get("code") != 422:
        return []
    fields = [
        f"{c.get('field', '?')} ({_rule(str(c.get('message', '')))})"
        for c in _causes(status)
        if _IMMUTABLE.search(str(c.get("message", "")))
    ]
    if not fields and _IMMUTABLE.search(str(status.get("message", ""))):
        fields = ["? (field is immutable)"]
    return fields


def conflicts(status: Mapping[str, Any]) -> list[str]:
    """``field (owned by manager)`` for every field-manager conflict of a 409 Status."""
    out = []
    for c in _causes(status):
        if c.get("reason") != "FieldManagerConflict":
            continue
        manager = _MANAGER.search(str(c.get("message", "")))
        out.append(f"{c.get('field', '?')} (owned by {manager[1] if manager else '?'})")
    return out


def error_text(status: Mapping[str, Any]) -> str:
    """A Status in one line: reason and causes' fields and rules, never quoted values."""
    causes = [f"{c.get('field', '?')}: {_rule(str(c.get('message', '')))}" for c in _causes(status)]
    head = f"{status.get('code', '?')} {status.get('reason', '')}".strip()
    if causes:
        return f"{head}: {'; '.join(causes)}"
    return f"{head}: {_rule(str(status.get('message', '')))}"


def build_result(
    *,
    mode: str,
    target: str,
    inventory: str,
    summary: DiffSummary,
    pruned: Sequence[str] = (),
    kept: Sequence[str] = (),
    budget: int = RESULT_BUDGET,
) -> dict[str, Any]:
    """The verb's JSON result, cut to ``budget`` bytes.

    ``applied`` names what was created, updated or recreated (in diff mode: what
    would be); ``pruned`` what was deleted (would be); ``kept`` what is no longer
    rendered but protected from pruning.
    """
    applied = [
        str(c.ref)
        for c in summary.changes
        if c.action in (Action.CREATE, Action.UPDATE, Action.RECREATE)
    ]
    unchanged = [str(c.ref) for c in summary.of(Action.UNCHANGED)]
    counts = summary.counts()
    counts.pop(Action.PRUNE.value)
    result: dict[str, Any] = {
        "mode": mode,
        "target": target,
        "inventory": inventory,
        "changed": summary.changed or bool(pruned),
        "counts": {
            **counts,
            "applied": len(applied),
            "pruned": len(pruned),
            "kept": len(kept),
        },
        "diff": summary.lines(),
        "applied": applied,
        "pruned": list(pruned),
        "unchanged": unchanged,
        "kept": list(kept),
    }
    return fit(result, budget)


def fit(result: dict[str, Any], budget: int) -> dict[str, Any]:
    """Halve the longest list until the JSON fits; record how many entries were cut."""
    cut: dict[str, int] = {}
    while _size(result, cut) > budget:
        longest = max(_LISTS, key=lambda k: _size(result.get(k, [])))
        items = result[longest]
        if not items:
            raise ValueError("result does not fit even without its lists")
        keep = len(items) // 2
        cut[longest] = cut.get(longest, 0) + len(items) - keep
        result[longest] = items[:keep]
    if cut:
        result["truncated"] = cut
    return result


def _size(value: Any, extra: Any = None) -> int:
    return len(json.dumps([value, extra], separators=(",", ":")).encode())
