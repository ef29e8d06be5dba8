"""Names derived from a shoot's project and name, in one place (Gardener's scheme)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def project_namespace(project: str) -> str:
    """Seed namespace holding a project's Shoot resources and kubeconfig Secrets."""
    return f"garden-{project}"


def shoot_key(shoot: Mapping[str, Any]) -> str:
    """``<project>/<name>`` of a Shoot resource (how Params and reports name a shoot)."""
    meta = shoot.get("metadata") or {}
    namespace = str(meta.get("namespace", ""))
    return f"{namespace.removeprefix(project_namespace(''))}/{meta.get('name', '')}"


def controlplane_namespace(project: str, name: str) -> str:
    """Seed namespace running the shoot's control-plane pods."""
    return f"shoot--{project}--{name}"


def kubeconfig_secret(name: str) -> str:
    """Secret (in the project namespace) with the shoot's admin kubeconfig."""
    return f"{name}.kubeconfig"


def operation_lease(name: str) -> str:
    """Lease (in the project namespace) serialising operations on one shoot."""
    return f"{name}.operation"


def project_quota_lease() -> str:
    """Lease (in the project namespace) serialising the quota check and write of new specs:
    two shoots created at once are counted one after the other."""
    return "project-quota"


def operation_lease_access(name: str, account: str) -> str:
    """Role and RoleBinding (project namespace) letting ``account`` hold the shoot's Lease."""
    return f"{name}.{account}.operation-lease"
