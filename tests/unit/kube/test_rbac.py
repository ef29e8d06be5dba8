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
