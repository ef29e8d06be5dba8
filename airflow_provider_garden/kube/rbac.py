"""One ServiceAccount and role per operator kind, with only the verbs it needs.

Operator pods run under these accounts (REQUIREMENTS 5). Shoot control planes
live in namespaces created at run time, so the shoot account's rules are
cluster-scoped; each rule still names its exact resources and verbs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.controlplane.encryption import ENCRYPTION_SECRET
from airflow_provider_garden.core.kept_backups import kept_key_name, record_name
from airflow_provider_garden.kube.client import Manifest
from airflow_provider_garden.kube.resources import GROUP

READ = ["get", "list", "watch"]
WRITE = [*READ, "create", "patch", "update", "delete"]


@dataclass(frozen=True)
class Account:
    name: str
    rules: tuple[Manifest, ...]
    # Pods of this kind run in each shoot's control-plane namespace (they mount its
    # etcd volume and Secrets): install only creates the ClusterRole; shoot reconcile
    # creates the ServiceAccount and a RoleBinding there, so the rules hold in that
    # namespace only.
    per_controlplane: bool = False
    # Per-control-plane accounts whose ClusterRole this one may bind (by a RoleBinding
    # in a shoot's namespace); the role names depend on the install's namespace.
    binds: tuple[str, ...] = ()

    def role_name(self, namespace: str) -> str:
        return f"{namespace}:{self.name}"

    def rules_in(self, namespace: str) -> list[Manifest]:
        """The rules as installed in `namespace` (bind rights name its role names)."""
        if not self.binds:
            return list(self.rules)
        bind: Manifest = {
            "apiGroups": ["rbac.authorization.k8s.io"],
            "resources": ["clusterroles"],
            "verbs": ["bind"],
            "resourceNames": [f"{namespace}:{name}" for name in self.binds],
        }
        return [*self.rules, bind]

    def manifests(self, namespace: str) -> list[Manifest]:
        if self.per_controlplane:
            return [
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRole",
                    "metadata": {"name": self.role_name(namespace)},
                    "rules": self.rules_in(namespace),
                }
            ]
        sa: Manifest = {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": self.name, "namespace": namespace},
            "automountServiceAccountToken": bool(self.rules),
        }
        if not self.rules:
            return [sa]
        role_name = self.role_name(namespace)
        return [
            sa,
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": role_name},
                "rules": self.rules_in(namespace),
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
            # create: ShootCreate's pod applies a new Shoot (server-side apply creates only
            # with create); delete: the last step of ShootDelete.
            _rule(GROUP, ["shoots"], ["create", "delete"]),
            _rule(GROUP, ["projects"], ["get"]),  # the quota, counted again in the pod
            LEASES,
            _rule("", ["namespaces"], ["get", "list", "create", "patch", "delete"]),
            _rule("", ["secrets", "services", "configmaps"], WRITE),
            _rule("", ["persistentvolumeclaims"], ["get", "list", "create", "patch", "delete"]),
            # Teardown keeps a local store's volume: Retain, then re-bound to a claim in the
            # project namespace (kube/kept_backups.py); no create, no delete.
            _rule("", ["persistentvolumes"], ["get", "patch"]),
            _rule("", ["nodes"], ["list"]),
            # Why a control-plane pod waits: its PodScheduled condition and the scheduler's
            # FailedScheduling events (ERR_INFRA_QUOTA_EXCEEDED names both).
            _rule("", ["pods"], ["get", "list"]),
            _rule("", ["events"], ["list"]),
            # delete: shoot delete removes what reconcile made, component by component.
            _rule("", ["serviceaccounts"], ["get", "create", "patch", "delete"]),
            _rule("apps", ["deployments", "statefulsets"], WRITE),
            # Grants per-control-plane accounts their role inside the shoot's namespace, and
            # the restore's account its shoot's Lease by name (operation_lease_access): the
            # API lets it grant only what it holds itself (LEASES above).
            _rule(
                "rbac.authorization.k8s.io",
                ["roles", "rolebindings"],
                ["get", "create", "patch", "delete"],
            ),
        ),
        binds=("garden-etcd",),
    ),
    # Backup and restore of a shoot's etcd, in its control-plane namespace only; the
    # restore holds its shoot's operation Lease and reports on that Shoot (by name, in the
    # project namespace: operation_lease_access).
    Account(
        "garden-etcd",
        (
            _rule("apps", ["deployments", "statefulsets"], ["get", "list", "patch"]),
            _rule("", ["pods"], ["get", "list"]),
            _rule("", ["configmaps"], ["get", "create", "patch"]),  # the backup index
            # A restore of a deleted shoot's snapshot adds its kept keys to this control
            # plane's encryption configuration (core/controlplane/encryption.py).
            {
                "apiGroups": [""],
                "resources": ["secrets"],
                "verbs": ["get", "patch"],
                "resourceNames": [ENCRYPTION_SECRET],
            },
        ),
        per_controlplane=True,
    ),
    # Machine rollouts: pods run in the shoot's project namespace, beside the kubeconfig
    # Secret they mount; MachineRolloutOperator binds this role there before its pod
    # starts, so the rules hold in that namespace only. Everything else is in the shoot.
    Account(
        "garden-machines",
        (
            # patch: the rollout writes its target image version into the spec, under the
            # shoot's Lease (the spec changes only while the operation is locked).
            _rule(GROUP, ["shoots"], ["get", "patch"]),
            _rule(GROUP, ["shoots/status"], ["patch"]),
            LEASES,
        ),
        per_controlplane=True,
    ),
    # Care observes the fleet: reads the control planes and the kubeconfig Secrets (it
    # reaches each shoot with that Secret's credentials), writes only each Shoot's status
    # (conditions, constraints, replaced machines), its status label and, while machine
    # health replaces machines, the shoot's operation Lease.
    Account(
        "garden-care",
        (
            _rule(GROUP, ["shoots"], ["get", "list", "patch"]),
            _rule(GROUP, ["shoots/status"], ["patch"]),
            _rule("", ["secrets"], ["get"]),
            _rule("", ["pods"], ["list"]),
            _rule("apps", ["deployments", "statefulsets"], ["list"]),
            LEASES,  # machine health replaces machines under the shoot's operation Lease
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


def controlplane_account(
    name: str, *, controlplane_namespace: str, garden_namespace: str
) -> list[Manifest]:
    """ServiceAccount + RoleBinding of a per-control-plane account in one shoot's namespace."""
    acc = account(name)
    if not acc.per_controlplane:
        raise ValueError(f"{name} is not a per-control-plane account")
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": controlplane_namespace},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": name, "namespace": controlplane_namespace},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": acc.role_name(garden_namespace),
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": name, "namespace": controlplane_namespace}
            ],
        },
    ]


def operation_lease_access(
    account_name: str,
    *,
    project: str,
    name: str,
    controlplane_namespace: str,
    kept_uids: Sequence[str] = (),
) -> list[Manifest]:
    """Role + RoleBinding letting one shoot's per-control-plane ``account_name`` hold that
    shoot's operation Lease and report the operation: get and update of that one Lease,
    patch of that one Shoot's status, in the project namespace. ``kept_uids``: deleted
    shoots of the name whose kept snapshots it may restore (``from_uid``): get of their
    kept-backups records and kept encryption keys, by name.

    The pod holding the Lease is then the pod doing the work (a restore), not the Airflow
    worker that started it. No ``create``: RBAC cannot limit it to a name, and the Lease
    exists once the shoot was reconciled (reconcile holds it first).
    """
    acc = account(account_name)
    if not acc.per_controlplane:
        raise ValueError(f"{account_name} is not a per-control-plane account")
    project_ns = naming.project_namespace(project)
    role = naming.operation_lease_access(name, account_name)
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": role, "namespace": project_ns},
            "rules": [
                {
                    "apiGroups": ["coordination.k8s.io"],
                    "resources": ["leases"],
                    "verbs": ["get", "update"],
                    "resourceNames": [naming.operation_lease(name)],
                },
                {
                    "apiGroups": [GROUP],
                    "resources": ["shoots/status"],
                    "verbs": ["patch"],
                    "resourceNames": [name],
                },
                *_kept_access(name, sorted(kept_uids)),
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": role, "namespace": project_ns},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
            "subjects": [
                {
                    "kind": "ServiceAccount",
                    "name": account_name,
                    "namespace": controlplane_namespace,
                }
            ],
        },
    ]


def _kept_access(name: str, uids: list[str]) -> list[Manifest]:
    """Get of named kept records and keys; none at all without a UID (an empty
    ``resourceNames`` would allow every object of the kind)."""
    if not uids:
        return []
    return [
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "verbs": ["get"],
            "resourceNames": [record_name(name, uid) for uid in uids],
        },
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "verbs": ["get"],
            "resourceNames": [kept_key_name(name, uid) for uid in uids],
        },
    ]
