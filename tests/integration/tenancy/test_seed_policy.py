"""The seed confines the provider's accounts itself (core/seed_policy.py), whatever RBAC
grants them: its ValidatingAdmissionPolicy refuses writes outside control-plane, project
and the account's own namespace, the deletion of any namespace but a control plane's and
Secrets other than kubeconfigs and kept encryption keys in project namespaces; Pod
Security ``baseline`` refuses privileged pods in the namespaces the provider makes.

Requests are made with the seed admin's kubeconfig impersonating the account
(``--as``) and ``--dry-run=server``: they pass authentication, RBAC and admission as the
account's would, and nothing is written.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from garden_projects import project_for_tests
from seed_kubectl import kubectl

from airflow_provider_garden.core.seed_policy import POD_SECURITY_LABELS, POLICY_NAME
from airflow_provider_garden.core.settings import DEFAULTS
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.projects import Projects
from airflow_provider_garden.kube.rbac import account

pytestmark = pytest.mark.integration
SHOOT_ACCOUNT = f"system:serviceaccount:{DEFAULTS.namespace}:garden-shoot"
# a control-plane namespace, as reconcile makes it (its own each run: deletion takes a while)
CONTROLPLANE = f"shoot--policy--probe-{secrets.token_hex(3)}"
ETCD_ROLE = account("garden-etcd").role_name(DEFAULTS.namespace)
VOLUME = f"garden-policy-probe-{secrets.token_hex(3)}"


@pytest.fixture(scope="module")
def namespaces(seed: KubeClient) -> Iterator[tuple[str, str]]:
    """A project namespace (made as ShootCreate makes it) and a control-plane namespace."""
    project = project_for_tests("team-x")
    Projects(seed, provider_namespace=DEFAULTS.namespace).ensure_namespace(project)
    labels = dict(POD_SECURITY_LABELS)
    seed.apply({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": CONTROLPLANE, "labels": labels}})  # fmt: skip
    # A cluster-scoped object an operator writes: a kept store's volume (patched).
    seed.apply(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": VOLUME},
            "spec": {
                "capacity": {"storage": "1Mi"},
                "accessModes": ["ReadWriteOnce"],
                "hostPath": {"path": "/nonexistent/garden-policy-probe"},
                "persistentVolumeReclaimPolicy": "Delete",
            },
        }
    )
    yield project.namespace, CONTROLPLANE
    seed.delete("v1", "Namespace", CONTROLPLANE)
    seed.delete("v1", "PersistentVolume", VOLUME)


@pytest.fixture(scope="module", autouse=True)
def policy_in_force(seed_kubeconfig: Path, seed: KubeClient) -> None:
    """The API server loads a policy a moment after `garden install` applied it, and a
    changed one too: probe its first rule and its newest."""
    probes = [
        ("create", "configmap", "probe", "-n", "kube-system"),
        ("create", "namespace", "garden-policy-probe"),
    ]
    deadline = time.monotonic() + 30
    while any(run(seed_kubeconfig, *probe)[0] == 0 for probe in probes):
        assert time.monotonic() < deadline, "the policy was not in force 30 s after install"
        time.sleep(0.5)


def run(seed_kubeconfig: Path, *args: str, user: str | None = SHOOT_ACCOUNT) -> tuple[int, str]:
    argv = [kubectl(), "--kubeconfig", str(seed_kubeconfig), *args, "--dry-run=server"]
    if user:
        argv.append(f"--as={user}")
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    return out.returncode, out.stdout + out.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ("create", "deployment", "x", "--image=pause", "-n", "kube-system"),
            "may write only in shoot--*, garden-* and its own namespace "
            f"{DEFAULTS.namespace}, not in kube-system",
        ),
        (
            # the one role it may bind (RBAC's escalation check passes): not there
            (
                "create",
                "rolebinding",
                "x",
                f"--clusterrole={ETCD_ROLE}",
                "--user=u",
                "-n",
                "kube-system",
            ),
            "may write only in shoot--*, garden-* and its own namespace "
            f"{DEFAULTS.namespace}, not in kube-system",
        ),
        (
            ("delete", "namespace", DEFAULTS.namespace),
            f"may delete only control-plane namespaces (shoot--*), not {DEFAULTS.namespace}",
        ),
        (
            ("create", "secret", "generic", "stolen", "-n", "garden-team-x"),
            "may write only Secrets named *.kubeconfig or kept-etcd-encryption-* in project "
            "namespace garden-team-x, not stolen",
        ),
        (
            # a namespace of its pattern without Pod Security, then privileged pods in it
            ("create", "namespace", "garden-unguarded"),
            "may leave namespace garden-unguarded only with label "
            "pod-security.kubernetes.io/enforce set to baseline or restricted",
        ),
        (
            (
                "label",
                "namespace",
                "garden-team-x",
                "--overwrite",
                "pod-security.kubernetes.io/enforce=privileged",
            ),
            "may leave namespace garden-team-x only with label "
            "pod-security.kubernetes.io/enforce set to baseline or restricted",
        ),
    ],
    ids=[
        "deployment-kube-system",
        "rolebinding-kube-system",
        "delete-own-ns",
        "project-secret",
        "namespace-without-pod-security",
        "namespace-relabelled-privileged",
    ],
)
def test_the_policy_refuses_what_rbac_would_allow(
    seed_kubeconfig: Path, namespaces: tuple[str, str], args: tuple[str, ...], said: str
) -> None:
    code, out = run(seed_kubeconfig, *args)
    assert code != 0, out
    # Any installation's policy may answer first: each confines every provider account.
    assert re.search(rf"ValidatingAdmissionPolicy '[a-z0-9.-]+\.{POLICY_NAME}'", out), out
    assert f"{SHOOT_ACCOUNT} {said}" in out, out


@pytest.mark.parametrize(
    "args",
    [
        ("create", "deployment", "x", "--image=pause", "-n", CONTROLPLANE),
        ("create", "secret", "generic", "dev.kubeconfig", "-n", "garden-team-x"),
        # a teardown keeps the etcd encryption keys beside the kept snapshots
        ("create", "secret", "generic", "kept-etcd-encryption-dev-0123abcd", "-n", "garden-team-x"),
        ("create", "configmap", "x", "-n", "garden-team-x"),
        ("delete", "namespace", CONTROLPLANE),
        (
            "label",
            "namespace",
            "garden-team-x",
            "--overwrite",
            "pod-security.kubernetes.io/enforce=restricted",
        ),
        # a cluster-scoped object: its request has no namespace key at all (teardown keeps
        # a local store's volume by patching it)
        ("patch", "pv", VOLUME, "-p", '{"spec":{"persistentVolumeReclaimPolicy":"Retain"}}'),
    ],
    ids=[
        "controlplane-deployment",
        "kubeconfig-secret",
        "kept-key-secret",
        "project-configmap",
        "delete-controlplane",
        "namespace-stricter",
        "patch-volume",
    ],
)
def test_what_the_operators_do_passes(
    seed_kubeconfig: Path, namespaces: tuple[str, str], args: tuple[str, ...]
) -> None:
    code, out = run(seed_kubeconfig, *args)
    assert code == 0, out


@pytest.mark.parametrize("where", ["project", "controlplane"])
def test_no_privileged_pod_in_a_namespace_the_provider_made(
    seed_kubeconfig: Path, namespaces: tuple[str, str], where: str
) -> None:
    namespace = namespaces[0] if where == "project" else namespaces[1]
    pod = ("run", "root", "--image=pause", "--privileged", "-n", namespace)
    code, out = run(seed_kubeconfig, *pod, user=None)  # not even the seed's admin
    assert code != 0, out
    assert 'violates PodSecurity "baseline:latest": privileged' in out, out
