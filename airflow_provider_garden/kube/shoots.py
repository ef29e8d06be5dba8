"""Shoot resources: read the fleet, write desired state, report observed state.

Status follows Gardener's shape (REQUIREMENTS): `lastOperation`, `lastErrors`,
conditions, `observedGeneration`. Writers go through the status subresource,
so they never race with people editing the spec.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from airflow_provider_garden.core import naming
from airflow_provider_garden.kube.client import KubeClient, Manifest
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Shoots:
    def __init__(self, kube: KubeClient) -> None:
        self.kube = kube

    def get(self, project: str, name: str) -> Manifest:
        return self.kube.get(SHOOT_API_VERSION, "Shoot", name, naming.project_namespace(project))

    def find(self, project: str, name: str) -> Manifest | None:
        return self.kube.find(SHOOT_API_VERSION, "Shoot", name, naming.project_namespace(project))

    def list(self, project: str | None = None) -> list[Manifest]:
        ns = naming.project_namespace(project) if project else None
        return self.kube.list(SHOOT_API_VERSION, "Shoot", ns)

    def apply(self, shoot: Manifest) -> Manifest:
        """Apply the desired state (spec, labels, annotations) of a Shoot."""
        return self.kube.apply(shoot)

    def patch_status(self, project: str, name: str, status: dict[str, Any]) -> Manifest:
        return self.kube.merge_patch(
            SHOOT_API_VERSION,
            "Shoot",
            name,
            {"status": status},
            naming.project_namespace(project),
            subresource="status",
        )

    def report(
        self,
        project: str,
        name: str,
        *,
        type_: str,
        state: str,
        progress: int,
        description: str,
        errors: Sequence[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Manifest:
        """Write lastOperation (and lastErrors when given, cleared on success)."""
        status: dict[str, Any] = {
            "lastOperation": {
                "type": type_,
                "state": state,
                "progress": progress,
                "description": description[:1024],
                "lastUpdateTime": now_iso(),
            },
            **(extra or {}),
        }
        if errors is not None:
            status["lastErrors"] = list(errors)
        elif state == "Succeeded":
            status["lastErrors"] = None
        return self.patch_status(project, name, status)


def condition(type_: str, status: str, reason: str, message: str) -> dict[str, str]:
    at = now_iso()
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": at,
        "lastUpdateTime": at,
    }


def error_entry(description: str, codes: Sequence[str], task_id: str) -> dict[str, Any]:
    return {
        "description": description[:1024],
        "codes": list(codes),
        "taskID": task_id,
        "lastUpdateTime": now_iso(),
    }
