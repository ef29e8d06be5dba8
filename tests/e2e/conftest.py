"""End-to-end fixtures: one real Airflow for the whole session, and the seed it drives.

`airflow_stack` serves two DAG bundles: the bundled DAGs (`dags/`) and the small
DAGs of these tests (`tests/e2e/dags/`). `airflow_seed` points Airflow's
`kubernetes_default` connection at the seed through the REST API (as a user does
in Admin > Connections) and installs the provider into the seed.
The stack's home is kept after a failing session, with every component's log.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import kept_sweep
import pytest
from airflow_stack import AirflowStack
from garden_projects import ensure_projects
from integration import conftest as integration_fixtures
from kill_matrix.operators import INSTANCE, MISSING_IMAGE

from airflow_provider_garden.cli.packaging import install_chart
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.localseed.profile import local_profile

REPO = Path(__file__).resolve().parents[2]
E2E_DAGS = Path(__file__).resolve().parent / "dags"
GARDEN_NAMESPACE = "garden-system"
_STACK_REPORT = pytest.StashKey[list[str]]()

# The integration tests' seed: GARDEN_KUBECONFIG when set, else the local seed.
seed_kubeconfig = integration_fixtures.seed_kubeconfig


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)


def stack_home() -> Path:
    """Fixed per checkout under /tmp (the postgres user must reach it), so a rerun finds
    and stops what a killed session left running."""
    digest = hashlib.sha256(str(REPO).encode()).hexdigest()[:8]
    return Path(tempfile.gettempdir()) / f"garden-e2e-airflow-{digest}"


@pytest.fixture(scope="session")
def airflow_stack(request: pytest.FixtureRequest) -> Iterator[AirflowStack]:
    stack = AirflowStack(
        home=stack_home(),
        bundles={"garden": REPO / "dags", "e2e": E2E_DAGS},
        # The kill matrix's startup-failure path runs an operator on an image that is not there.
        env={
            "AIRFLOW__GARDEN__ALLOWED_POD_OVERRIDES": f"image={MISSING_IMAGE}",
            "AIRFLOW__GARDEN__INSTANCE": INSTANCE,
        },
    )
    stack.start()
    memory = stack.memory()
    report = request.config.stash.setdefault(_STACK_REPORT, [])
    report.append(
        "start: " + ", ".join(f"{step} {seconds:.1f}s" for step, seconds in stack.timings.items())
    )
    report.append(
        "memory at rest (PSS): "
        + ", ".join(f"{name} {size / 2**20:.0f} MiB" for name, size in memory.items())
        + f", total {sum(memory.values()) / 2**20:.0f} MiB"
    )
    yield stack
    began = time.monotonic()
    stack.stop()
    report.append(f"stop: {time.monotonic() - began:.1f}s")
    if request.session.testsfailed:
        print(f"\nAirflow e2e stack kept for diagnosis: {stack.run_dir}")
    else:
        shutil.rmtree(stack.home, ignore_errors=True)


@pytest.fixture(scope="session")
def e2e_report(request: pytest.FixtureRequest) -> list[str]:
    """Lines (measured figures) printed in the "Airflow e2e stack" section of the summary."""
    return request.config.stash.setdefault(_STACK_REPORT, [])


@pytest.fixture(scope="session")
def airflow_seed(
    airflow_stack: AirflowStack, seed_kubeconfig: Path, e2e_report: list[str]
) -> Iterator[KubeClient]:
    """The seed with the provider installed by its Helm chart (so the operators run under
    exactly the shipped accounts), reachable from Airflow as `kubernetes_default`. The
    backups that the DAGs' teardowns keep are let go when the session ends."""
    kube = KubeClient.from_kubeconfig(str(seed_kubeconfig))
    before = kept_sweep.seen(kube)
    install_chart(
        kubeconfig=seed_kubeconfig,
        namespace=GARDEN_NAMESPACE,
        profile=local_profile(),
        values={"image": {"pullPolicy": "Never"}},
    )
    airflow_stack.api.connection_set(
        "kubernetes_default", "kubernetes", {"kube_config_path": str(seed_kubeconfig)}
    )
    ensure_projects(kube)  # the Projects the e2e runs' shoots live in (tests/garden_projects.py)
    yield kube
    for line in kept_sweep.sweep(kube, before):
        e2e_report.append(f"kept backups swept: {line}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = terminalreporter.config.stash.get(_STACK_REPORT, [])
    if lines:
        terminalreporter.section("Airflow e2e stack")
        for line in lines:
            terminalreporter.write_line(line)
