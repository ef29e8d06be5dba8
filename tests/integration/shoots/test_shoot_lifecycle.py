"""Shoots end to end on the local seed: create through Airflow, use, re-run, isolate, delete."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from garden_projects import project_for_tests
from reconcile_pods import reconcile_pods
from seed_kubectl import kubectl as seed_kubectl

from airflow_provider_garden.cli.main import main as garden_cli
from airflow_provider_garden.core import naming
from airflow_provider_garden.core.project import Member, Role
from airflow_provider_garden.core.settings import DEFAULT_NAMESPACE
from airflow_provider_garden.core.spec_fields import SpecError
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.projects import Projects
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.localseed.profile import local_profile
from airflow_provider_garden.operators.shoot import (
    DELETE_CONFIRMATION,
    ShootCreateOperator,
    ShootDeleteOperator,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("airflow_seed_connection")]
VERSION = local_profile().kubernetes_versions[0]
DAGS = Path(__file__).resolve().parents[3] / "dags"


def spec(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "kubernetes": {"version": VERSION},
        "networking": {"pods": "100.96.0.0/11", "services": "100.64.0.0/13"},
        "maintenance": {"timeWindow": {"begin": "220000+0000", "end": "230000+0000"}},
    }
    base.update(overrides)
    return base


@pytest.fixture(scope="module")
def bundled() -> dict[str, Any]:
    return DagBag(dag_folder=str(DAGS)).dags


def run_bundled(dags: dict[str, Any], dag_id: str, **conf: Any) -> str:
    """Run a bundled DAG with `dag.test()`: real tasks, real pods on the seed."""
    return str(dags[dag_id].test(run_conf=conf).state)


def create(dags: dict[str, Any], project: str, name: str, **overrides: Any) -> str:
    s = spec(**overrides)
    return run_bundled(
        dags,
        "garden_provision",
        project=project,
        name=name,
        kubernetes_version=s["kubernetes"]["version"],
        networking=s["networking"],
        maintenance_window=s["maintenance"]["timeWindow"],
    )


def kubeconfig_of(
    seed: KubeClient, project: str, name: str, tmp: Path, key: str = "kubeconfig-external"
) -> Path:
    secret = seed.get(
        "v1", "Secret", naming.kubeconfig_secret(name), naming.project_namespace(project)
    )
    path = tmp / f"{project}-{name}.kubeconfig"
    path.write_bytes(base64.b64decode(secret["data"][key]))
    path.chmod(0o600)
    return path


def shoot_kubectl(
    kubeconfig: Path, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [seed_kubectl(), "--kubeconfig", str(kubeconfig), "--request-timeout=10s", *args],
        capture_output=True,
        text=True,
        check=check,
        timeout=60,
    )


@pytest.fixture(scope="module")
def dev(
    seed: KubeClient, bundled: dict[str, Any], shoot_cleanup: list[tuple[str, str]]
) -> tuple[str, str]:
    shoot_cleanup.append(("team-a", "dev"))
    assert create(bundled, "team-a", "dev") == "success"
    return ("team-a", "dev")


def test_created_shoot_is_listed_as_succeeded(
    seed: KubeClient, dev: tuple[str, str], seed_kubeconfig: Path
) -> None:
    out = subprocess.run(
        [seed_kubectl(), "--kubeconfig", str(seed_kubeconfig), "get", "shoots", "-A"],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(
        ln for ln in out.stdout.splitlines() if ln.startswith("garden-team-a") and " dev " in ln
    )
    assert "Succeeded" in line
    assert VERSION in line


def test_readyz_answers_through_the_external_kubeconfig(
    seed: KubeClient, dev: tuple[str, str], tmp_path: Path
) -> None:
    kubeconfig = kubeconfig_of(seed, *dev, tmp_path)
    assert shoot_kubectl(kubeconfig, "get", "--raw", "/readyz").stdout.strip() == "ok"


def test_data_survives_control_plane_restart(
    seed: KubeClient, dev: tuple[str, str], tmp_path: Path
) -> None:
    kubeconfig = kubeconfig_of(seed, *dev, tmp_path)
    marker = f"survivor-{uuid.uuid4().hex[:6]}"
    shoot_kubectl(kubeconfig, "create", "namespace", marker)
    cp_ns = naming.controlplane_namespace(*dev)
    for pod in seed.list("v1", "Pod", cp_ns):
        if pod["metadata"]["labels"].get("app") in ("etcd", "kube-apiserver"):
            seed.delete("v1", "Pod", pod["metadata"]["name"], cp_ns)
    deadline = time.monotonic() + 300
    while True:
        done = shoot_kubectl(kubeconfig, "get", "namespace", marker, "-o", "name", check=False)
        if done.returncode == 0:
            break
        assert time.monotonic() < deadline, f"shoot did not come back: {done.stderr}"
        time.sleep(2)
    assert done.stdout.strip() == f"namespace/{marker}"


def test_secrets_are_encrypted_in_etcd(
    seed: KubeClient, dev: tuple[str, str], seed_kubeconfig: Path, tmp_path: Path
) -> None:
    """A Secret written through the shoot's API is stored in its etcd (and so in every
    snapshot) encrypted with the seed-held key: aescbc, no plaintext."""
    canary = f"canary-{uuid.uuid4().hex}"
    kubeconfig = kubeconfig_of(seed, *dev, tmp_path)
    shoot_kubectl(kubeconfig, "create", "secret", "generic", "at-rest", "-n", "default",
                  f"--from-literal=value={canary}")  # fmt: skip
    try:
        tls = "/etc/etcd/tls"
        raw = subprocess.run(
            [seed_kubectl(), "--kubeconfig", str(seed_kubeconfig), "exec", "-n",
             naming.controlplane_namespace(*dev), "etcd-0", "-c", "etcd", "--",
             "etcdctl", "--endpoints=https://127.0.0.1:2379", f"--cacert={tls}/ca.crt",
             f"--cert={tls}/tls.crt", f"--key={tls}/tls.key",
             "get", "/registry/secrets/default/at-rest", "--print-value-only"],
            capture_output=True, check=True, timeout=60,
        ).stdout  # fmt: skip
        # The key is named after itself (core/controlplane/encryption.py), never "key1".
        assert re.match(rb"k8s:enc:aescbc:v1:key-[0-9a-f]{12}:", raw), raw[:40]
        assert canary.encode() not in raw
        read = shoot_kubectl(kubeconfig, "get", "secret", "at-rest", "-n", "default",
                             "-o", "jsonpath={.data.value}").stdout  # fmt: skip
        assert base64.b64decode(read).decode() == canary  # the API still reads it
    finally:
        shoot_kubectl(kubeconfig, "delete", "secret", "at-rest", "-n", "default",
                      "--ignore-not-found")  # fmt: skip


def test_rerun_is_a_reconcile_that_changes_nothing_else(
    seed: KubeClient, dev: tuple[str, str], bundled: dict[str, Any]
) -> None:
    cp_ns = naming.controlplane_namespace(*dev)
    before = {
        s["metadata"]["name"]: s["metadata"]["resourceVersion"]
        for s in seed.list("v1", "Secret", cp_ns)
    }
    spec_before = seed.get(SHOOT_API_VERSION, "Shoot", dev[1], naming.project_namespace(dev[0]))[
        "spec"
    ]
    assert create(bundled, *dev) == "success"
    after = {
        s["metadata"]["name"]: s["metadata"]["resourceVersion"]
        for s in seed.list("v1", "Secret", cp_ns)
    }
    shoot = seed.get(SHOOT_API_VERSION, "Shoot", dev[1], naming.project_namespace(dev[0]))
    assert after == before
    assert shoot["spec"] == spec_before
    assert shoot["status"]["lastOperation"]["type"] == "Reconcile"
    assert shoot["status"]["lastOperation"]["state"] == "Succeeded"


INVALID = [
    ("metadata.name", "Bad_Name", spec()),
    ("spec.kubernetes.version", "v1", spec(kubernetes={"version": "1.99.0"})),
    (
        "spec.networking.pods",
        "v2",
        spec(networking={"pods": "not-a-cidr", "services": "100.64.0.0/13"}),
    ),
    (
        "spec.networking",
        "v3",
        spec(networking={"pods": "100.64.0.0/11", "services": "100.64.0.0/13"}),
    ),
    (
        "spec.networking",
        "v4",
        spec(networking={"pods": "10.200.0.0/16", "services": "100.64.0.0/13"}),
    ),
    (
        "spec.maintenance.timeWindow",
        "v5",
        spec(maintenance={"timeWindow": {"begin": "220000+0000", "end": "221000+0000"}}),
    ),
    (
        "spec.maintenance.timeWindow.begin",
        "v6",
        spec(maintenance={"timeWindow": {"begin": "25:00", "end": "230000+0000"}}),
    ),
    (
        "spec.workers[0]",
        "v7",
        spec(
            workers=[
                {
                    "name": "pool",
                    "machine": {
                        "type": "local",
                        "image": {"name": "gardenlinux", "version": "1592.2"},
                    },
                    "minimum": 1,
                    "maximum": 2,
                    "maxSurge": 0,
                    "maxUnavailable": 0,
                }
            ]
        ),
    ),
    (
        "spec.workers[0].maximum",
        "v8",
        spec(
            workers=[
                {
                    "name": "pool",
                    "machine": {
                        "type": "local",
                        "image": {"name": "gardenlinux", "version": "1592.2"},
                    },
                    "minimum": 3,
                    "maximum": 2,
                }
            ]
        ),
    ),
    ("spec.addons.kustomize", "v9", spec(addons={"kustomize": {"path": "../../etc"}})),
    ("spec.unknownField", "v10", spec(unknownField=1)),
]


@pytest.mark.parametrize(
    ("field", "name", "bad_spec"), INVALID, ids=[i[0] + "-" + i[1] for i in INVALID]
)
def test_invalid_spec_fails_before_anything_is_created(
    seed: KubeClient, field: str, name: str, bad_spec: dict[str, Any]
) -> None:
    before = reconcile_pods(seed, "team-x")
    op = ShootCreateOperator(task_id="create", project="team-x", name=name, spec=bad_spec)
    with pytest.raises(SpecError) as err:
        op.execute(context={})  # type: ignore[arg-type]
    assert field in str(err.value)
    assert seed.find(SHOOT_API_VERSION, "Shoot", name, "garden-team-x") is None
    # No pod was started for team-x (other projects' runs, other lanes', have their own).
    assert reconcile_pods(seed, "team-x") - before == set()


@dataclass(frozen=True)
class Issued:
    """A member's `garden kubeconfig` run: its status, the kubeconfig file, its stderr."""

    code: int
    path: Path
    said: str

    @property
    def expires(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.said.rsplit(" until ", 1)[1].strip())


@pytest.fixture(scope="module")
def members(
    seed: KubeClient,
    dev: tuple[str, str],
    seed_kubeconfig: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Issued]]:
    """`garden kubeconfig --user U --expiration 1m` for admin alice, viewer vic and the
    stranger mallory; issued early, so the module's later tests outlast the minute."""
    project, name = dev
    projects = Projects(seed, provider_namespace=DEFAULT_NAMESPACE)
    base = project_for_tests(project)
    extra = (Member("alice", Role.ADMIN), Member("vic", Role.VIEWER))
    projects.apply(replace(base, members=base.members + extra))
    tmp = tmp_path_factory.mktemp("members")
    issued = {}
    try:
        for user in ("alice", "vic", "mallory"):
            argv = ["--kubeconfig", str(seed_kubeconfig), "kubeconfig", f"{project}/{name}"]
            err = io.StringIO()
            out = io.StringIO()
            with redirect_stdout(out), redirect_stderr(err):
                code = garden_cli([*argv, "--user", user, "--expiration", "1m"])
            path = tmp / f"{user}.kubeconfig"
            path.write_text(out.getvalue())
            issued[user] = Issued(code, path, err.getvalue())
        yield issued
    finally:
        projects.apply(base)


def test_members_get_short_lived_kubeconfigs_of_their_role(
    seed: KubeClient, dev: tuple[str, str], members: dict[str, Issued], tmp_path: Path
) -> None:
    """An admin may write, a viewer only read (no Secrets), a non-member gets nothing."""
    project, _ = dev
    alice, vic, mallory = members["alice"], members["vic"], members["mallory"]
    assert alice.code == 0, alice.said
    assert "garden:member:alice (admin, group garden:project:admins) until" in alice.said
    who = shoot_kubectl(alice.path, "auth", "whoami", "-o", "jsonpath={.status.userInfo}")
    assert '"username":"garden:member:alice"' in who.stdout
    assert "system:masters" not in who.stdout
    try:
        shoot_kubectl(alice.path, "create", "configmap", "by-alice", "-n", "default")
        assert vic.code == 0, vic.said
        assert "by-alice" in shoot_kubectl(vic.path, "get", "configmaps", "-n", "default").stdout
        for refused in (
            ("create", "configmap", "by-vic", "-n", "default"),
            ("get", "secrets", "-n", "kube-system"),
        ):
            out = shoot_kubectl(vic.path, *refused, check=False)
            assert out.returncode != 0, refused
            assert "forbidden" in out.stderr.lower(), (refused, out.stderr)
    finally:
        admin = kubeconfig_of(seed, *dev, tmp_path)
        shoot_kubectl(admin, "delete", "configmap", "by-alice", "-n", "default",
                      "--ignore-not-found")  # fmt: skip
    assert mallory.code == 1
    assert f"--user: 'mallory' is not a member of project '{project}'" in mallory.said


def test_shoots_are_isolated(
    seed: KubeClient, dev: tuple[str, str], tmp_path: Path, bundled: dict[str, Any]
) -> None:
    assert create(bundled, "team-b", "dev") == "success"
    a = kubeconfig_of(seed, *dev, tmp_path)
    b = kubeconfig_of(seed, "team-b", "dev", tmp_path)
    b_server = shoot_kubectl(
        b, "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"
    ).stdout
    # A's client certificate and CA against B's API server: TLS trust fails or B rejects the user.
    out = shoot_kubectl(
        a, "--server", b_server, "--insecure-skip-tls-verify", "get", "--raw", "/api", check=False
    )
    assert out.returncode != 0
    assert "Unauthorized" in out.stderr or "certificate" in out.stderr
    assert shoot_kubectl(b, "get", "--raw", "/readyz").stdout.strip() == "ok"


def test_delete_needs_confirmation_then_removes_everything(
    seed: KubeClient, bundled: dict[str, Any]
) -> None:
    project, name = "team-b", "dev"
    if seed.find(SHOOT_API_VERSION, "Shoot", name, naming.project_namespace(project)) is None:
        assert create(bundled, project, name) == "success"
    unconfirm = {"metadata": {"annotations": {DELETE_CONFIRMATION: None}}}
    seed.merge_patch(SHOOT_API_VERSION, "Shoot", name, unconfirm, naming.project_namespace(project))
    op = ShootDeleteOperator(task_id="delete", project=project, name=name)
    with pytest.raises(SpecError, match=DELETE_CONFIRMATION):
        op.execute(context={})  # type: ignore[arg-type]
    wrong = run_bundled(
        bundled, "garden_teardown", project=project, name=name, confirm="team-b/other"
    )
    assert wrong == "failed"
    assert seed.find("v1", "Namespace", naming.controlplane_namespace(project, name)) is not None

    state = run_bundled(
        bundled, "garden_teardown", project=project, name=name, confirm=f"{project}/{name}"
    )
    assert state == "success"
    assert seed.find(SHOOT_API_VERSION, "Shoot", name, naming.project_namespace(project)) is None
    assert seed.find("v1", "Namespace", naming.controlplane_namespace(project, name)) is None
    assert (
        seed.find("v1", "Secret", naming.kubeconfig_secret(name), naming.project_namespace(project))
        is None
    )


def test_a_member_kubeconfig_is_refused_once_it_expired(members: dict[str, Issued]) -> None:
    """Last in the module: by now the minute has (nearly always) passed."""
    alice = members["alice"]
    time.sleep(max(0.0, (alice.expires - dt.datetime.now(dt.UTC)).total_seconds()) + 2)
    out = shoot_kubectl(alice.path, "get", "--raw", "/readyz", check=False)
    assert out.returncode != 0
    assert "Unauthorized" in out.stderr, out.stderr
