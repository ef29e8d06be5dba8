"""Short-lived, named access to a shoot for a project's members.

A member asks for a kubeconfig valid for a while (`garden kubeconfig PROJECT/NAME
--user NAME --expiration 1h`): a client certificate from the shoot's CA naming the
member, in the group of their role, never ``system:masters``. Each shoot binds those
groups (cluster-admin for admins, view for viewers); a certificate ends by itself, so
nothing needs revoking. The long-lived admin kubeconfig stays the provider's own.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from . import pki
from .kubeconfig import render_kubeconfig
from .project import Role

#: the group a member's certificate carries, by role (subject O)
GROUPS = {Role.ADMIN: "garden:project:admins", Role.VIEWER: "garden:project:viewers"}
#: what each group may do in the shoot (Kubernetes' default ClusterRoles)
CLUSTER_ROLES = {Role.ADMIN: "cluster-admin", Role.VIEWER: "view"}
USER_PREFIX = "garden:member:"  # never a system: name, whatever the Airflow user is called

MIN_EXPIRATION = dt.timedelta(minutes=1)
MAX_EXPIRATION = dt.timedelta(hours=24)
_DURATION = re.compile(r"(?P<amount>[1-9][0-9]*)(?P<unit>[smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class AccessError(ValueError):
    """The request names its field and the rule it broke."""


def parse_expiration(text: str, *, field: str = "--expiration") -> dt.timedelta:
    """``30m``, ``1h``, ``90s``, ``1d``: a duration from 1 minute to 24 hours."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise AccessError(f"{field}: {text!r} is not a duration such as 30m, 1h or 90s")
    duration = dt.timedelta(**{_UNITS[match["unit"]]: int(match["amount"])})
    if not MIN_EXPIRATION <= duration <= MAX_EXPIRATION:
        raise AccessError(f"{field}: {text!r} must be from 1m to 24h")
    return duration


def member_user(user: str) -> str:
    """The user name the shoot sees (its audit log and RBAC) for an Airflow user."""
    if not user or any(c.isspace() or ord(c) < 32 for c in user):
        raise AccessError(f"--user: {user!r} must be a non-empty name without blanks")
    return f"{USER_PREFIX}{user}"


@dataclass(frozen=True)
class MemberKubeconfig:
    text: str
    user: str  # as the shoot sees it
    group: str
    expires: dt.datetime


def member_kubeconfig(
    ca: pki.KeyPair,
    *,
    user: str,
    role: Role,
    expiration: dt.timedelta,
    cluster_name: str,
    server: str,
) -> MemberKubeconfig:
    """A kubeconfig for ``user`` in ``role``'s group, valid for ``expiration`` from now."""
    name, group = member_user(user), GROUPS[role]
    leaf = pki.LeafSpec(common_name=name, organizations=(group,), client=True)
    pair = pki.issue(ca, leaf, valid_for=expiration)
    text = render_kubeconfig(
        cluster_name=cluster_name,
        server=server,
        ca_pem=ca.cert_pem,
        client_cert_pem=pair.cert_pem,
        client_key_pem=pair.key_pem,
        user=name,
    )
    return MemberKubeconfig(text, name, group, pair.certificate().not_valid_after_utc)


def member_bindings() -> list[dict[str, object]]:
    """The shoot's ClusterRoleBindings of the member groups (applied by reconcile)."""
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"garden:project-{role}s"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": CLUSTER_ROLES[role],
            },
            "subjects": [
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": GROUPS[role]}
            ],
        }
        for role in Role
    ]
