from __future__ import annotations

import pytest

from airflow_provider_garden.kube.rbac import account


@pytest.mark.parametrize("namespace", ["garden-system", "fleet-ops"])
def test_bind_rights_name_the_roles_of_the_install_namespace(namespace: str) -> None:
    [role] = [o for o in account("garden-shoot").manifests(namespace) if o["kind"] == "ClusterRole"]
    binds = [r for r in role["rules"] if "bind" in r["verbs"]]
    assert binds == [
        {
            "apiGroups": ["rbac.authorization.k8s.io"],
            "resources": ["clusterroles"],
            "verbs": ["bind"],
            "resourceNames": [f"{namespace}:garden-etcd"],
        }
    ]


def test_the_restore_account_may_hold_its_shoots_lease_and_nothing_else_there() -> None:
    from airflow_provider_garden.kube.rbac import operation_lease_access

    role, binding = operation_lease_access(
        "garden-etcd", project="team-a", name="dev", controlplane_namespace="shoot--team-a--dev"
    )
    assert (role["kind"], role["metadata"]["namespace"]) == ("Role", "garden-team-a")
    assert role["rules"] == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "verbs": ["get", "update"],  # never create: RBAC cannot limit that to a name
            "resourceNames": ["dev.operation"],
        },
        {
            "apiGroups": ["garden.airflow.io"],
            "resources": ["shoots/status"],
            "verbs": ["patch"],  # it reports the restore while it holds the Lease
            "resourceNames": ["dev"],
        },
    ]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "garden-etcd", "namespace": "shoot--team-a--dev"}
    ]


def test_only_per_controlplane_accounts_get_a_shoots_lease() -> None:
    from airflow_provider_garden.kube.rbac import operation_lease_access

    with pytest.raises(ValueError, match="garden-care is not a per-control-plane account"):
        operation_lease_access("garden-care", project="p", name="n", controlplane_namespace="x")


def test_shoot_reconcile_may_grant_the_lease_role_only_with_rights_it_holds() -> None:
    rules = account("garden-shoot").rules
    [leases] = [r for r in rules if r["resources"] == ["leases"]]
    assert {"get", "update"} <= set(leases["verbs"])
    [roles] = [r for r in rules if "roles" in r["resources"]]
    assert not {"escalate", "bind"} & set(roles["verbs"])


def test_the_restore_account_reads_only_the_named_kept_keys_of_its_name() -> None:
    from airflow_provider_garden.kube.rbac import operation_lease_access

    def extra(uids: list[str]) -> list[dict[str, object]]:
        role, _ = operation_lease_access(
            "garden-etcd", project="team-a", name="dev", controlplane_namespace="cp",
            kept_uids=uids,
        )  # fmt: skip
        return role["rules"][2:]

    assert extra([]) == []  # an empty resourceNames would allow every Secret there
    assert extra(["bbbbbbbb-2", "aaaaaaaa-1"]) == [
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "verbs": ["get"],
            "resourceNames": ["kept-backups-dev-aaaaaaaa", "kept-backups-dev-bbbbbbbb"],
        },
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "verbs": ["get"],
            "resourceNames": [
                "kept-etcd-encryption-dev-aaaaaaaa",
                "kept-etcd-encryption-dev-bbbbbbbb",
            ],
        },
    ]
