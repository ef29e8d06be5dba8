"""Which Kubernetes version changes a shoot may make, by Gardener's rules.

Versions only go forward, and one minor at a time: kube-apiserver stores objects in
versions its successor can read, not the other way round, and skipping a minor skips
the storage migrations the one in between would have run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .maintenance import KUBERNETES_VERSION_FIELD, version_tuple
from .spec_fields import FieldError
from .status import ShootStatus


def version_change_problem(running: str, wanted: str) -> FieldError | None:
    """Why a shoot on ``running`` may not move to ``wanted``; None if it may."""
    now, then = version_tuple(running), version_tuple(wanted)
    if then < now:
        return FieldError(
            KUBERNETES_VERSION_FIELD,
            f"{wanted} would downgrade the shoot from {running}: versions only go forward",
        )
    if then[:2] > (now[0], now[1] + 1):
        step = f"{now[0]}.{now[1] + 1}"
        return FieldError(
            KUBERNETES_VERSION_FIELD,
            f"{wanted} skips a minor version after {running}: update to {step} first "
            "(one minor at a time)",
        )
    return None


def running_version(shoot: Mapping[str, Any]) -> str:
    """The version a stored Shoot runs: what reconcile observed, else what its spec asks."""
    observed = ShootStatus.from_shoot(shoot).kubernetes_version
    return observed or str(shoot["spec"]["kubernetes"]["version"])
