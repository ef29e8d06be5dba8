"""The `garden` connection's Test button, as the Airflow API runs it, against real API servers.

Each test builds the connection the way the connection-test endpoint does (an
`airflow.models.Connection`, exported as ``AIRFLOW_CONN_<ID>`` from its URI, then
``test_connection()``, which finds GardenHook through the provider metadata). Against
the seed with the provider installed it passes, through a ``garden`` connection and an
existing ``kubernetes`` one alike. A cluster without the CRD cannot be made of the
shared seed (every other test uses its CRDs), so that one is a bare kube-apiserver of
this module's own (tests/bare_apiserver.py: the seed's build, its own etcd, stopped by
PID): the test fails there naming the CRDs and the CloudProfile, and passes once the
provider is installed into it; an identity RBAC grants nothing is told it may not
create pods.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.models.connection import Connection
from bare_apiserver import BareApiserver, bare_apiserver

from airflow_provider_garden.kube.bootstrap import install
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.localseed.profile import local_profile

# Lanes (tests/lanes.py): free. Its bare etcd and kube-apiserver are processes of its
# own on free 127.0.0.1 ports, stopped by PID, run from the seed's build cache, which
# they only read; on the seed it only reads (discovery, the CloudProfile ConfigMap, a
# SelfSubjectAccessReview) and makes one throwaway namespace. It requests no CPU of the
# seed's node and changes nothing another module sees.
pytestmark = pytest.mark.integration
NAMESPACE = "garden-system"  # the namespace the seed's provider is installed into


def test_button(conn_id: str, conn_type: str, **extra: Any) -> tuple[bool, str]:
    """What the UI's Test button answers for this connection (the API's own path)."""
    conn = Connection(conn_id=conn_id, conn_type=conn_type, extra=json.dumps(extra))
    env = f"AIRFLOW_CONN_{conn_id.upper()}"
    os.environ[env] = conn.get_uri()
    try:
        ok, message = conn.test_connection()
    finally:
        os.environ.pop(env, None)
    return bool(ok), str(message)


test_button.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


# --- the seed ------------------------------------------------------------------------


def test_the_seed_passes_through_a_garden_connection(
    garden_seed: KubeClient, seed_kubeconfig: Path
) -> None:
    ok, message = test_button(
        "garden_seed_test", "garden", kube_config_path=str(seed_kubeconfig), namespace=NAMESPACE
    )
    assert ok, message
    assert "CRDs served: shoots.garden.airflow.io, projects.garden.airflow.io" in message
    assert f"CloudProfile ConfigMap {NAMESPACE}/garden-cloudprofile offers Kubernetes" in message
    assert f"pods creatable in namespace {NAMESPACE}" in message


def test_an_existing_kubernetes_connection_passes_too(
    garden_seed: KubeClient, seed_kubeconfig: Path
) -> None:
    ok, message = test_button(
        "garden_seed_kube_test", "kubernetes", kube_config_path=str(seed_kubeconfig)
    )
    assert ok, message


def test_a_seed_namespace_without_the_install_fails_naming_the_cloudprofile(
    garden_seed: KubeClient, seed_kubeconfig: Path, namespace: str
) -> None:
    ok, message = test_button(
        "garden_seed_ns_test", "garden", kube_config_path=str(seed_kubeconfig), namespace=namespace
    )
    assert not ok
    assert f"CloudProfile missing: ConfigMap {namespace}/garden-cloudprofile" in message
    assert "CRD" not in message  # the CRDs are cluster-wide: served


# --- a bare API server -------------------------------------------------------------


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BareApiserver]:
    with bare_apiserver(tmp_path_factory.mktemp("bare-apiserver")) as server:
        yield server


def test_a_cluster_without_the_crd_fails_naming_it_then_passes_once_installed(
    bare: BareApiserver,
) -> None:
    conn = {"kube_config_path": str(bare.admin_kubeconfig), "namespace": NAMESPACE}
    ok, message = test_button("garden_bare_test", "garden", **conn)
    assert not ok
    assert message.startswith(f"seed not ready (namespace {NAMESPACE}): CRD not served"), message
    assert "shoots.garden.airflow.io (Shoot)" in message
    assert "projects.garden.airflow.io (Project)" in message
    assert f"CloudProfile missing: ConfigMap {NAMESPACE}/garden-cloudprofile" in message
    assert "pods not creatable" not in message  # the admin may
    assert message.endswith(
        f"install the provider there: `garden install --namespace {NAMESPACE}` or the Helm chart"
    )

    install(
        KubeClient.from_kubeconfig(str(bare.admin_kubeconfig)),
        namespace=NAMESPACE,
        profile=local_profile(),
    )
    ok, message = test_button("garden_bare_test", "garden", **conn)
    assert ok, message


def test_an_identity_without_rights_is_told_it_may_not_create_pods(bare: BareApiserver) -> None:
    ok, message = test_button(
        "garden_bare_nobody_test",
        "garden",
        kube_config_path=str(bare.nobody_kubeconfig),
        namespace=NAMESPACE,
    )
    assert not ok
    assert f"may not create pods in namespace {NAMESPACE}" in message
    assert "CloudProfile not readable" in message
