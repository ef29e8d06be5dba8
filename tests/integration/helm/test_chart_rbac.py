"""Each operator account of the chart may do what its pods do, and is refused what
they must not do, as the seed's real authorizer decides (SubjectAccessReview).

The allowed side is derived from the rules (files/accounts.yaml, generated from
kube/rbac.py), so a binding that does not take effect fails here. The refused
side is written by hand per account: an account added without saying what it
must never do fails `test_every_account_has_refusals`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helm_release import Release
from kubernetes import client

from airflow_provider_garden.core import naming
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.rbac import (
    ACCOUNTS,
    Account,
    controlplane_account,
    operation_lease_access,
)
from airflow_provider_garden.kube.rbac import account as rbac_account

pytestmark = pytest.mark.integration

RBAC = "rbac.authorization.k8s.io"
CLUSTER_SCOPED = {"namespaces", "nodes", "clusterroles"}
RELEASE = "<release namespace>"  # placeholders, resolved per test run
HOME = "<where the account's role is bound>"
OTHER = "<a namespace of another project or shoot>"


@dataclass(frozen=True)
class Request:
    verb: str
    resource: str
    group: str = ""
    namespace: str | None = None
    subresource: str | None = None
    name: str | None = None

    def __str__(self) -> str:
        what = "/".join(p for p in (self.group, self.resource, self.subresource) if p)
        where = f" in {self.namespace}" if self.namespace else ""
        named = f" {self.name}" if self.name else ""
        return f"{self.verb} {what}{named}{where}"


# Refused to every account: nothing an operator pod does needs these.
EVERYONE_REFUSED = [
    Request("create", "pods", namespace=HOME),  # Airflow launches the pods, not a pod
    Request("create", "pods", namespace="kube-system", subresource="exec"),
    Request("create", "clusterrolebindings", group=RBAC),
    Request("escalate", "clusterroles", group=RBAC),
    Request("bind", "clusterroles", group=RBAC, name="cluster-admin"),
    Request("update", "clusterroles", group=RBAC),
    Request("impersonate", "serviceaccounts", namespace="kube-system"),
    Request("delete", "customresourcedefinitions", group="apiextensions.k8s.io"),
]

REFUSED: dict[str, list[Request]] = {
    "garden-selfcheck": [
        Request("get", "configmaps", namespace=HOME),
        Request("list", "shoots", group="garden.airflow.io", namespace=OTHER),
    ],
    # Writes control-plane Secrets in namespaces made at run time: its Secret access
    # is cluster-wide, and so is reading pods and events (an unschedulable control-plane
    # pod is named with its FailedScheduling reason). What it must not touch: machines,
    # pods' lifecycle, other roles.
    "garden-shoot": [
        Request("delete", "nodes"),
        Request("delete", "pods", namespace=OTHER),
        Request("create", "pods", namespace=OTHER, subresource="exec"),
        Request("create", "persistentvolumes"),  # it keeps a volume (get, patch), never makes one
        Request("delete", "persistentvolumes"),
        Request("bind", "clusterroles", group=RBAC, name=f"{RELEASE}:garden-shoot"),
        Request("escalate", "roles", group=RBAC, namespace=OTHER),  # grants only what it holds
    ],
    "garden-kustomize": [
        Request("get", "secrets", namespace=OTHER),  # another project's Secrets
        Request("delete", "namespaces"),
        Request("delete", "configmaps", namespace=HOME),
        Request("create", "deployments", group="apps", namespace=OTHER),
    ],
    "garden-etcd": [
        Request("get", "secrets", namespace=HOME),  # its TLS files are mounted, not read
        Request("patch", "statefulsets", group="apps", namespace=OTHER),  # another shoot's etcd
        Request("delete", "pods", namespace=HOME),
        Request("delete", "namespaces"),
        Request("update", "leases", group="coordination.k8s.io", namespace=OTHER),
    ],
    # Reads the fleet; writes only Shoot status and the status label.
    "garden-care": [
        Request("list", "secrets", namespace=OTHER),  # reads kubeconfig Secrets by name only
        Request("create", "secrets", namespace=OTHER),
        Request("delete", "shoots", group="garden.airflow.io", namespace=OTHER),
        Request("patch", "deployments", group="apps", namespace=OTHER),  # observes, never scales
        Request("delete", "pods", namespace=OTHER),
        Request("delete", "namespaces"),
    ],
    "garden-machines": [
        Request("get", "secrets", namespace=HOME),  # the shoot kubeconfig is mounted
        Request("get", "shoots", group="garden.airflow.io", namespace=OTHER),
        Request("delete", "shoots", group="garden.airflow.io", namespace=HOME),
        Request("delete", "namespaces"),
    ],
}


@dataclass(frozen=True)
class Places:
    release: str
    # per-control-plane accounts: the namespace their RoleBinding is in
    bound: dict[str, str]
    other: str

    def home(self, account: Account) -> str:
        return self.bound.get(account.name, self.release)

    def resolve(self, request: Request, account: Account) -> Request:
        def sub(value: str | None) -> str | None:
            if value is None:
                return None
            value = value.replace(RELEASE, self.release)
            return {HOME: self.home(account), OTHER: self.other}.get(value, value)

        return Request(
            request.verb,
            request.resource,
            request.group,
            sub(request.namespace),
            request.subresource,
            sub(request.name),
        )


@pytest.fixture(scope="module")
def places(release: Release, seed_kubeconfig: Path) -> Iterator[Places]:
    """Binds each per-control-plane account in a namespace of its own, as shoot
    reconcile (garden-etcd) and MachineRolloutOperator (garden-machines) do."""
    kube = KubeClient.from_kubeconfig(str(seed_kubeconfig))
    suffix = secrets.token_hex(3)
    bound = {}
    for account in ACCOUNTS:
        if account.per_controlplane:
            namespace = f"rbac-{suffix}-{account.name}"
            kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
            for obj in controlplane_account(
                account.name, controlplane_namespace=namespace, garden_namespace=release.namespace
            ):
                kube.apply(obj)
            bound[account.name] = namespace
    yield Places(release=release.namespace, bound=bound, other=f"garden-other{suffix}")
    for namespace in bound.values():
        kube.delete("v1", "Namespace", namespace)


def allowed(api: client.ApiClient, account: Account, places: Places, request: Request) -> bool:
    namespace = places.home(account)
    review = client.V1SubjectAccessReview(
        spec=client.V1SubjectAccessReviewSpec(
            user=f"system:serviceaccount:{namespace}:{account.name}",
            groups=[
                "system:serviceaccounts",
                f"system:serviceaccounts:{namespace}",
                "system:authenticated",
            ],
            resource_attributes=client.V1ResourceAttributes(
                verb=request.verb,
                group=request.group,
                resource=request.resource,
                subresource=request.subresource,
                namespace=request.namespace,
                name=request.name,
            ),
        )
    )
    answer = client.AuthorizationV1Api(api).create_subject_access_review(review)
    return bool(answer.status.allowed)


def granted(account: Account, places: Places) -> list[Request]:
    """One request per verb and resource of each of the account's rules."""
    requests = []
    for rule in account.rules_in(places.release):
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                name, _, sub = resource.partition("/")
                scope = None if name in CLUSTER_SCOPED else places.home(account)
                for verb in rule["verbs"]:
                    for named in rule.get("resourceNames") or [None]:
                        requests.append(Request(verb, name, group, scope, sub or None, named))
    return requests


def test_every_account_has_refusals() -> None:
    assert {a.name for a in ACCOUNTS} == set(REFUSED)


@pytest.mark.parametrize("account", ACCOUNTS, ids=lambda a: a.name)
def test_account_may_do_what_its_pods_do(
    account: Account, places: Places, kube_api: client.ApiClient
) -> None:
    refused = [r for r in granted(account, places) if not allowed(kube_api, account, places, r)]
    assert refused == [], f"{account.name} is refused: {', '.join(map(str, refused))}"


@pytest.mark.parametrize("account", ACCOUNTS, ids=lambda a: a.name)
def test_account_is_refused_what_it_must_not_do(
    account: Account, places: Places, kube_api: client.ApiClient
) -> None:
    requests = [places.resolve(r, account) for r in EVERYONE_REFUSED + REFUSED[account.name]]
    allowed_ = [r for r in requests if allowed(kube_api, account, places, r)]
    assert allowed_ == [], f"{account.name} may: {', '.join(map(str, allowed_))}"


def test_the_restore_account_may_hold_its_shoots_lease_and_no_other(
    places: Places, kube_api: client.ApiClient, seed_kubeconfig: Path
) -> None:
    """What shoot reconcile grants garden-etcd in the project namespace: that shoot's
    operation Lease, read and renewed by name, and a patch of that Shoot's status;
    another shoot's Lease or status there is refused, and so is creating a Lease."""
    kube = KubeClient.from_kubeconfig(str(seed_kubeconfig))
    etcd = rbac_account("garden-etcd")
    project_ns = f"garden-{places.bound['garden-etcd']}"  # a project namespace of its own
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": project_ns}})
    try:
        for obj in operation_lease_access(
            etcd.name,
            project=project_ns.removeprefix("garden-"),
            name="db",
            controlplane_namespace=places.home(etcd),
        ):
            kube.apply(obj)

        def may(verb: str, name: str | None) -> bool:
            request = Request(verb, "leases", "coordination.k8s.io", project_ns, name=name)
            return allowed(kube_api, etcd, places, request)

        mine, other = naming.operation_lease("db"), naming.operation_lease("other")
        assert [may(verb, mine) for verb in ("get", "update", "delete")] == [True, True, False]
        assert [may(verb, other) for verb in ("get", "update")] == [False, False]
        assert [may(verb, None) for verb in ("create", "list")] == [False, False]

        def may_report(verb: str, shoot: str, sub: str | None = "status") -> bool:
            request = Request(verb, "shoots", "garden.airflow.io", project_ns, sub, shoot)
            return allowed(kube_api, etcd, places, request)

        assert may_report("patch", "db")  # its own shoot's status, by name
        assert not may_report("patch", "other")
        assert not may_report("patch", "db", sub=None)  # never the spec
    finally:
        kube.delete("v1", "Namespace", project_ns)
