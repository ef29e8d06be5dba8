"""Is a shoot ready? A pure reading of its status, shared by sensor and trigger."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

REQUIRED_CONDITIONS = (
    "APIServerAvailable",
    "ControlPlaneHealthy",
    "EveryNodeReady",
    "SystemComponentsHealthy",
)
# A retry cannot fix these: the spec or the credentials must change first.
NON_RETRYABLE_CODES = frozenset({"ERR_CONFIGURATION_PROBLEM", "ERR_INFRA_UNAUTHORIZED"})


class Verdict(enum.StrEnum):
    READY = "ready"
    WAITING = "waiting"
    FAILED = "failed"  # will not become ready without a change by a person


@dataclass(frozen=True)
class Health:
    verdict: Verdict
    message: str


def shoot_health(shoot: Mapping[str, Any] | None) -> Health:
    if shoot is None:
        return Health(Verdict.WAITING, "the Shoot does not exist (yet)")
    status = shoot.get("status") or {}
    last = status.get("lastOperation") or {}
    state = last.get("state")
    generation = (shoot.get("metadata") or {}).get("generation")
    codes = {c for e in status.get("lastErrors") or [] for c in e.get("codes") or []}
    if state == "Failed" or codes & NON_RETRYABLE_CODES:
        return Health(Verdict.FAILED, f"{last.get('type')} {state}: {last.get('description')}")
    if state != "Succeeded":
        return Health(
            Verdict.WAITING,
            f"{last.get('type', '?')} {state or 'not started'} ({last.get('progress', 0)}%)",
        )
    if generation is not None and status.get("observedGeneration") != generation:
        return Health(Verdict.WAITING, "the latest spec is not reconciled yet")
    conditions = {c["type"]: c for c in status.get("conditions") or []}
    not_true = [t for t in REQUIRED_CONDITIONS if (conditions.get(t) or {}).get("status") != "True"]
    if not_true:
        return Health(Verdict.WAITING, f"conditions not True: {', '.join(not_true)}")
    return Health(Verdict.READY, "lastOperation Succeeded and every condition True")


def backup_health(
    shoot: Mapping[str, Any] | None, *, now: dt.datetime, max_age: dt.timedelta
) -> Health:
    """Is the newest good backup (``status.lastBackup``) younger than ``max_age``?"""
    if shoot is None:
        return Health(Verdict.WAITING, "the Shoot does not exist (yet)")
    last = (shoot.get("status") or {}).get("lastBackup") or {}
    if not last.get("verified") or not last.get("created"):
        return Health(Verdict.WAITING, "no verified backup recorded yet")
    created = dt.datetime.fromisoformat(str(last["created"]).replace("Z", "+00:00"))
    age = now - created
    if age > max_age:
        return Health(
            Verdict.WAITING, f"newest good backup {last.get('snapshot')} is {age} old (> {max_age})"
        )
    return Health(Verdict.READY, f"newest good backup {last.get('snapshot')} is {age} old")
