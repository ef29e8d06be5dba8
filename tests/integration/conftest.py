"""Integration fixtures: a real cluster for the session and a fresh namespace per test.

The cluster is GARDEN_KUBECONFIG when set, else the local seed, brought up here (or
reused when healthy). If it cannot start, every test that needs it fails with the
reason: nothing is skipped silently.

Tests marked ``teardown_seed`` stop the shared seed, so they run only when selected
(``-m teardown_seed``; pytest reports them as deselected otherwise) and then last.

`make test` runs this directory in lanes, several sessions at once on the one seed
(tests/lanes.py): the session fixtures below then set the seed up once per run, under a
lock, and leave the sweep of kept backups to the run's last session. A lane refuses a
test marked ``serial`` (those run alone, before the lanes).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Generator, Iterator
from pathlib import Path

import kept_sweep
import lanes
import pytest
from kubernetes import client, config

from airflow_provider_garden.kube.bootstrap import install
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.localseed.errors import SeedError
from airflow_provider_garden.localseed.profile import local_profile

TEARDOWN_MARK = "teardown_seed"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    lane = lanes.current_lane()
    if lane is not None and lane != lanes.SERIAL:
        alone = sorted(
            {item.nodeid.split("::")[0] for item in items if item.get_closest_marker(lanes.SERIAL)}
        )
        if alone:
            raise pytest.UsageError(
                f"{lane} was given tests marked {lanes.SERIAL}, which must run alone on the "
                f"seed (mark the module's pytestmark, where tests/lanes.py reads it): "
                + ", ".join(alone)
            )
    teardown = [item for item in items if item.get_closest_marker(TEARDOWN_MARK)]
    if not teardown:
        return
    if TEARDOWN_MARK not in (config.option.markexpr or ""):
        config.hook.pytest_deselected(items=teardown)
        items[:] = [item for item in items if item not in teardown]
        return
    items[:] = [item for item in items if item not in teardown] + teardown


@pytest.fixture(scope="session")
def seed_kubeconfig(request: pytest.FixtureRequest) -> Path:
    """Admin kubeconfig of the cluster the tests run against."""
    configured = os.environ.get("GARDEN_KUBECONFIG")
    if configured:
        return Path(configured)
    from airflow_provider_garden.localseed.seed import LocalSeed

    # A cold `up` builds images for minutes: its progress lines go to the terminal,
    # not into pytest's capture of the first test that asked for the seed.
    capture = request.config.pluginmanager.getplugin("capturemanager")
    try:
        # Lanes: one `up` at a time (a new seed home is made by the first; up locks the rest).
        with capture.global_and_fixture_disabled(), lanes.run_lock("seed-up"):
            return LocalSeed().up()
    except SeedError as err:
        pytest.fail(f"the local seed could not start: {err}", pytrace=False)


@pytest.fixture(scope="session")
def kube_api(seed_kubeconfig: Path) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(seed_kubeconfig))


def unique_name(hint: str, *, limit: int = 50) -> str:
    """A DNS-1123 label from ``hint`` plus a random suffix, at most ``limit`` characters."""
    base = re.sub(r"[^a-z0-9-]+", "-", hint.lower()).strip("-")
    suffix = secrets.token_hex(3)
    return f"{base[: limit - len(suffix) - 1].rstrip('-')}-{suffix}"


@pytest.fixture
def namespace(kube_api: client.ApiClient, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace of its own for one test, deleted (without waiting) afterwards."""
    core = client.CoreV1Api(kube_api)
    name = unique_name(f"t-{request.node.name.removeprefix('test_')}")
    core.create_namespace(
        client.V1Namespace(
            metadata=client.V1ObjectMeta(name=name, labels={"garden.test/integration": "true"})
        )
    )
    yield name
    core.delete_namespace(name, propagation_policy="Background")


# --- the provider installed in the seed, Airflow pointed at it -----------------
GARDEN_NAMESPACE = "garden-system"


_seed_for_reports: list[KubeClient] = []  # the session's seed, once a test asked for it


@pytest.fixture(scope="session")
def garden_seed(seed_kubeconfig: Path, request: pytest.FixtureRequest) -> Iterator[KubeClient]:
    """The seed with the provider installed and the Projects the tests' shoots live in
    (tests/garden_projects.py); backups kept by the session's teardowns are let go when
    it ends (tests/kept_sweep.py). Session fixtures ask for it by this name: a module
    may override `seed` (kustomize's is a function-scoped dynamic client)."""
    from garden_projects import TEST_PROJECTS, ensure_projects
    from shoot_cleanup import sweep_leftovers

    kube = KubeClient.from_kubeconfig(str(seed_kubeconfig))

    def set_up() -> str:
        install(kube, namespace=GARDEN_NAMESPACE, profile=local_profile())
        ensure_projects(kube)
        # Before any module of the run makes a shoot (the lanes wait on this `once`);
        # said on the terminal, not into the capture of the test that asked first.
        capture = request.config.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled():
            for line in sweep_leftovers(kube, TEST_PROJECTS):
                print(f"==> [seed] shoot left by an earlier run: {line}", flush=True)
        return kept_sweep.dumps(kept_sweep.seen(kube))

    # Once per run: a lane starting late must not bring a test Project back to its
    # members and quota while another lane's test has changed them (tests/lanes.py).
    before = kept_sweep.loads(lanes.once("garden-seed", set_up))
    lanes.enter("kept-backups")
    _seed_for_reports.append(kube)
    yield kube
    if not lanes.leave("kept-backups"):
        print("kept backups: swept by the run's last session (another lane is still running)")
        return
    for line in kept_sweep.sweep(kube, before):
        print(f"kept backups swept: {line}")


@pytest.fixture(scope="session")
def seed(garden_seed: KubeClient) -> KubeClient:
    return garden_seed


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test's report says what every Shoot on the seed last said about itself.

    A DAG run that "failed" tells nothing by itself; the Shoot's last operation and error
    codes name the cause (CI shows a report's end, not the task logs)."""
    report = yield
    if report.failed and _seed_for_reports:
        report.sections.append(("Shoots on the seed", shoots_summary(_seed_for_reports[0])))
    return report


def shoots_summary(kube: KubeClient) -> str:
    from airflow_provider_garden.kube.resources import SHOOT_API_VERSION

    try:
        shoots = kube.list(SHOOT_API_VERSION, "Shoot")
    except Exception as err:  # a report must not fail on a broken seed: say so instead
        return f"(could not list Shoots: {err})"
    lines = []
    for shoot in shoots:
        meta, status = shoot["metadata"], shoot.get("status") or {}
        op = status.get("lastOperation") or {}
        lines.append(
            f"{meta['namespace']}/{meta['name']}: {op.get('type')} {op.get('state')}"
            f" - {op.get('description', '')}"
        )
        lines += [
            f"    error {', '.join(e.get('codes') or [])}: {e.get('description', '')}"
            for e in status.get("lastErrors") or []
        ]
        lines += [
            f"    {c['type']}={c['status']} ({c.get('reason', '')}): {c.get('message', '')}"
            for c in status.get("conditions") or []
            if c.get("status") != "True"
        ]
    return "\n".join(lines) or "(no Shoots)"


@pytest.fixture(scope="session")
def airflow_seed_connection(seed_kubeconfig: Path, garden_seed: KubeClient) -> Iterator[None]:
    """Point Airflow's `kubernetes_default` at the seed (installed, with the tests'
    Projects: `garden_seed`) and make sure its DB exists."""
    conn = json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": str(seed_kubeconfig)}}
    )
    os.environ["AIRFLOW_CONN_KUBERNETES_DEFAULT"] = conn
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, timeout=600)
    yield
    os.environ.pop("AIRFLOW_CONN_KUBERNETES_DEFAULT", None)


@pytest.fixture(scope="module")
def shoot_cleanup(seed: KubeClient) -> Iterator[list[tuple[str, str]]]:
    """Shoots a test module created; deleted when that module ends, with the snapshots
    their teardown kept.

    Each control plane holds CPU requests on the seed's one node: kept until the session
    ends, a dozen of them fill it and the next shoot's pods cannot be scheduled (the
    provider then fails fast with ERR_INFRA_QUOTA_EXCEEDED, as it should)."""
    from shoot_cleanup import delete_shoot

    created: list[tuple[str, str]] = []
    yield created
    failed = []
    for project, name in created:  # every one: a shoot left behind holds seed CPU for the run
        try:
            delete_shoot(seed, project, name)
        except Exception as err:
            failed.append(f"{project}/{name}: {type(err).__name__}: {err}")
    if failed:
        raise AssertionError("could not delete the module's shoots:\n" + "\n".join(failed))
