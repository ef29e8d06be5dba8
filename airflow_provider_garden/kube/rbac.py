"""One ServiceAccount and role per operator kind, with only the verbs it needs.

Operator pods run under these accounts (REQUIREMENTS 5). Shoot control planes
live in namespaces created at run time, so the shoot account's rules are
cluster-scoped; each rule still names its exact resources and verbs.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_garden.kube.client import Manifest
from airflow_provider_garden.kube.resources import GROUP

READ = ["get", "list", "watch"]
WRITE = [*READ, "create", "patch", "update", "delete"]


@dataclass(frozen=True)
class Account:
    name: str
    rules: tuple[Manifest, ...]

    def manifests(self, namespace: str) -> list[Manifest]:
        sa: Manifest = {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": self.name, "namespace": namespace},
            "automountServiceAccountToken": bool(self.rules),
        }
        if not self.rules:
            return [sa]
        role_name = f"{namespace}:{self.name}"
        return [
            sa,
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": role_name},
                "rules": list(self.rules),
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": role_name},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": role_name,
                },
                "subjects": [{"kind": "ServiceAccount", "name": self.name, "namespace": namespace}],
            },
        ]


def _rule(group: str, resources: list[str], verbs: list[str]) -> Manifest:
    return {"apiGroups": [group], "resources": resources, "verbs": verbs}


SHOOT_STATUS = _rule(GROUP, ["shoots", "shoots/status"], ["get", "list", "watch", "patch"])
LEASES = _rule("coordination.k8s.io", ["leases"], ["get", "create", "update"])
PROFILE = _rule("", ["configmaps"], ["get"])

ACCOUNTS = (
    # Runs nothing against the API: proves the toolbox image starts.
    Account("garden-selfcheck", ()),
    Account(
        "garden-shoot",
        (
            SHOOT_STATUS,
            _rule(GROUP, ["shoots"], ["delete"]),  # the last step of ShootDelete
            LEASES,
            _rule("", ["namespaces"], ["get", "list", "create", "patch", "delete"]),
            _rule("", ["secrets", "services", "configmaps"], WRITE),
            _rule("", ["persistentvolumeclaims"], ["get", "list", "delete"]),
            _rule("", ["nodes"], ["list"]),
            _rule("apps", ["deployments", "statefulsets"], WRITE),
        ),
    ),
    # Seed targets only (shoot targets use the shoot's kubeconfig): its own inventory
    # ConfigMap. What an overlay changes is bound to it by the seed's admins.
    Account("garden-kustomize", (_rule("", ["configmaps"], ["get", "create", "patch"]),)),
)


def account(name: str) -> Account:
    for a in ACCOUNTS:
        if a.name == name:
            return a
    raise KeyError(name)
