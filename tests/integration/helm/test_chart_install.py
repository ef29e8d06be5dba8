"""`helm install` of the chart into the local seed, `helm test`, and a takeover of
what `garden install` created in garden-system."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from helm_release import Release
from kubernetes import client

from airflow_provider_garden.cli.packaging import install_chart
from airflow_provider_garden.kube.bootstrap import install
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.rbac import ACCOUNTS
from airflow_provider_garden.localseed.profile import local_profile

# helm takes over the objects of garden-system, which every other lane's pods run under (tests/lanes.py).
pytestmark = [pytest.mark.integration, pytest.mark.serial]
GARDEN_NAMESPACE = "garden-system"


def test_install_creates_every_account_and_says_what_to_do_next(
    release: Release, kube_api: client.ApiClient
) -> None:
    core, rbac = client.CoreV1Api(kube_api), client.RbacAuthorizationV1Api(kube_api)
    accounts = {
        sa.metadata.name for sa in core.list_namespaced_service_account(release.namespace).items
    }
    roles = {r.metadata.name for r in rbac.list_cluster_role().items}
    for account in ACCOUNTS:
        assert (account.name in accounts) is not account.per_controlplane, account.name
        assert (f"{release.namespace}:{account.name}" in roles) is bool(account.rules)
    profile = core.read_namespaced_config_map("garden-cloudprofile", release.namespace)
    assert profile.data == local_profile().to_configmap(release.namespace)["data"]
    assert f"helm test {release.name} -n {release.namespace}" in release.notes
    assert f"namespace     = {release.namespace}" in release.notes


def test_helm_test_proves_the_crd_is_served(release: Release) -> None:
    began = time.monotonic()
    out = release.helm_cmd("test", "--logs", "--timeout", "2m")
    print(f"helm test: {time.monotonic() - began:.1f}s")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "garden.airflow.io/v1alpha1 serves shoots and shoots/status" in out.stdout


def test_release_takes_over_garden_install_in_garden_system(
    seed_kubeconfig: Path, helm_binary: Path
) -> None:
    """The e2e suite's path: the chart adopts garden-system's objects, `helm test`
    passes there, and `install()` (the integration fixtures') still applies cleanly
    afterwards, because both write the same objects. The release stays: uninstalling
    it would delete the accounts other suites' pods run under."""
    kube = KubeClient.from_kubeconfig(str(seed_kubeconfig))
    install(kube, namespace=GARDEN_NAMESPACE, profile=local_profile())
    began = time.monotonic()
    install_chart(
        kubeconfig=seed_kubeconfig,
        namespace=GARDEN_NAMESPACE,
        profile=local_profile(),
        values={"image": {"pullPolicy": "Never"}},
    )
    print(f"helm upgrade --install into garden-system: {time.monotonic() - began:.1f}s")
    for account in ACCOUNTS:
        if not account.per_controlplane:
            sa = kube.get("v1", "ServiceAccount", account.name, GARDEN_NAMESPACE)
            assert sa["metadata"]["annotations"]["meta.helm.sh/release-name"] == "garden"
    install(kube, namespace=GARDEN_NAMESPACE, profile=local_profile())
    garden = Release(
        name="garden", namespace=GARDEN_NAMESPACE, kubeconfig=seed_kubeconfig, helm=helm_binary
    )
    tested = garden.helm_cmd("test", "--timeout", "2m")
    assert tested.returncode == 0, tested.stdout + tested.stderr
