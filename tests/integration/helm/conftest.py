"""`release`: the chart installed for the session into a fresh namespace.

Its ClusterRoles are named after that namespace and helm skips a CRD that is
already served, so the release leaves `garden-system` (where the other suites
install the provider) alone; it is uninstalled at the end of the session.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helm_release import Release
from seed_kubectl import kubectl as seed_kubectl

from airflow_provider_garden.cli.packaging import install_chart
from airflow_provider_garden.localseed.helm import ensure_helm
from airflow_provider_garden.localseed.profile import local_profile


@pytest.fixture(scope="session")
def helm_binary() -> Path:
    return ensure_helm()


@pytest.fixture(scope="session")
def release(seed_kubeconfig: Path, helm_binary: Path) -> Iterator[Release]:
    namespace = f"garden-helm-{secrets.token_hex(3)}"
    notes = install_chart(
        kubeconfig=seed_kubeconfig,
        namespace=namespace,
        profile=local_profile(),
        release="garden",
        values={"image": {"pullPolicy": "Never"}},
    )
    installed = Release(
        name="garden",
        namespace=namespace,
        kubeconfig=seed_kubeconfig,
        helm=helm_binary,
        notes=notes,
    )
    yield installed
    out = installed.helm_cmd("uninstall", "--wait")
    subprocess.run(
        [seed_kubectl(), "--kubeconfig", str(seed_kubeconfig), "delete", "namespace", namespace,
         "--wait=false"],
        capture_output=True,
        check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
