"""Who may act in a project, and its quota, on the seed through real Airflow (`dag.test()`).

Refusals come before anything exists, so no shoot needs to come up: the project
``deny`` has no namespace at all (a refused run must not make one), and the
project ``quota`` holds two bare Shoot resources (applied here; nothing reconciles
them) against ``maxShoots: 2``. `dag.test()` triggers every run as ``dag_test``;
:func:`triggered_by` makes a run another user's, the way a user's trigger from the
UI or the REST API records its name (``dag_run.triggering_user_name``).

What proves "nothing was created": the project's namespace (``deny``), the Shoot
(``quota``) and the reconcile pods seen before and after each run.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk.exceptions import TaskDeferred
from garden_projects import DAG_TEST_USER
from reconcile_pods import reconcile_pods

from airflow_provider_garden.agent.shoot_reconcile import apply_within_quota
from airflow_provider_garden.cli.main import main as garden_cli
from airflow_provider_garden.core import naming
from airflow_provider_garden.core.error_codes import KnownCause
from airflow_provider_garden.core.project import Member, Project, Quota, Role
from airflow_provider_garden.core.settings import DEFAULTS
from airflow_provider_garden.core.shoot_resource import to_resource
from airflow_provider_garden.core.shoot_spec import MachineImage, Worker, new_spec
from airflow_provider_garden.hooks.project_access import ProjectAccessError
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.projects import PROJECT_API_VERSION, PROJECT_LABEL, Projects
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.kube.shoots import Shoots
from airflow_provider_garden.localseed.profile import local_profile
from airflow_provider_garden.sensors.shoot import ShootReadySensor

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("airflow_seed_connection")]
DAGS = Path(__file__).resolve().parents[3] / "dags"
ADMIN, VIEWER, OWNER = "alice", "vic", "olga"
POOL_MAX = 2  # each bare shoot's one pool may have up to this many machines


def _members() -> tuple[Member, ...]:
    return (Member(OWNER, Role.ADMIN), Member(ADMIN, Role.ADMIN), Member(VIEWER, Role.VIEWER))


@contextmanager
def triggered_by(user: str) -> Iterator[None]:
    """`dag.test()` runs triggered by ``user`` instead of its fixed ``dag_test``."""
    import airflow.models.dagrun as dagrun

    original = dagrun.get_or_create_dagrun

    def as_user(*args: Any, **kwargs: Any) -> Any:
        kwargs["triggering_user_name"] = user
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dagrun, "get_or_create_dagrun", as_user)
        yield


@pytest.fixture(scope="module")
def dags() -> dict[str, Any]:
    return DagBag(dag_folder=str(DAGS)).dags


@pytest.fixture(scope="module")
def projects(seed: KubeClient) -> Projects:
    return Projects(seed, provider_namespace=DEFAULTS.namespace)


@pytest.fixture(scope="module")
def deny(seed: KubeClient, projects: Projects) -> Iterator[str]:
    """A Project without ``dag_test`` and without a namespace (nothing may make one)."""
    name = f"deny-{secrets.token_hex(3)}"
    projects.apply(Project(name=name, owner=OWNER, members=_members()))
    yield name
    seed.delete(PROJECT_API_VERSION, "Project", name)
    seed.delete("v1", "Namespace", naming.project_namespace(name))


def _bare_shoot(project: str, name: str) -> dict[str, Any]:
    image_name, versions = next(iter(local_profile().machine_images.items()))
    image = MachineImage(name=image_name, version=versions[0])
    pool = Worker(name="pool", machine_type="local", image=image, minimum=1, maximum=POOL_MAX)
    spec = new_spec(project, name, local_profile().kubernetes_versions[0], workers=[pool])
    return to_resource(spec, api_version=SHOOT_API_VERSION)


@pytest.fixture(scope="module")
def quota(seed: KubeClient, seed_kubeconfig: Path, projects: Projects) -> Iterator[Project]:
    """A Project with quota maxShoots 2 (made by `garden projects create`, as a person
    does) holding two bare Shoots (never reconciled)."""
    project = Project(
        name=f"quota-{secrets.token_hex(3)}",
        owner=OWNER,
        members=_members(),
        quota=Quota(max_shoots=2),
    )
    argv = ["--kubeconfig", str(seed_kubeconfig), "projects", "create", project.name]
    argv += ["--owner", OWNER, "--admin", ADMIN, "--viewer", VIEWER, "--max-shoots", "2"]
    assert garden_cli(argv) == 0
    assert projects.find(project.name) == project
    assert seed.get("v1", "Namespace", project.namespace)["metadata"]["labels"][PROJECT_LABEL] == (
        project.name
    )
    for name in ("one", "two"):
        seed.apply(_bare_shoot(project.name, name))
    yield project
    seed.delete("v1", "Namespace", project.namespace)  # its Shoots go with it
    seed.delete(PROJECT_API_VERSION, "Project", project.name)


def _failure(run: Any, capfd: pytest.CaptureFixture[str]) -> str:
    assert str(run.state) == "failed"
    out, err = capfd.readouterr()
    return out + err


def test_a_non_member_is_refused_before_anything_exists(
    seed: KubeClient, dags: dict[str, Any], deny: str, capfd: pytest.CaptureFixture[str]
) -> None:
    pods = reconcile_pods(seed, deny)
    capfd.readouterr()

    run = dags["garden_provision"].test(run_conf={"project": deny, "name": "web"})

    logged = _failure(run, capfd)
    assert (
        f"user '{DAG_TEST_USER}' (the run's triggering user) is not a member of project "
        f"'{deny}': ShootCreateOperator 'create_shoot' needs role admin"
    ) in logged
    assert seed.find("v1", "Namespace", naming.project_namespace(deny)) is None
    assert reconcile_pods(seed, deny) - pods == set()


def test_a_viewer_may_not_create_and_the_refusal_names_the_role(
    seed: KubeClient, dags: dict[str, Any], deny: str, capfd: pytest.CaptureFixture[str]
) -> None:
    pods = reconcile_pods(seed, deny)
    capfd.readouterr()

    with triggered_by(VIEWER):
        run = dags["garden_provision"].test(run_conf={"project": deny, "name": "web"})

    logged = _failure(run, capfd)
    assert f"user '{VIEWER}' (the run's triggering user) is only viewer in project '{deny}'" in (
        logged
    )
    assert "needs role admin" in logged
    assert seed.find("v1", "Namespace", naming.project_namespace(deny)) is None
    assert reconcile_pods(seed, deny) - pods == set()


def test_an_admin_member_passes_the_check(
    dags: dict[str, Any], deny: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """garden_teardown of a shoot that is not there: its pod reports it absent."""
    conf = {"project": deny, "name": "ghost", "confirm": f"{deny}/ghost"}
    with triggered_by(DAG_TEST_USER):  # the same run as a non-member: refused
        refused = dags["garden_teardown"].test(run_conf=conf)
    assert "is not a member of project" in _failure(refused, capfd)

    with triggered_by(ADMIN):
        run = dags["garden_teardown"].test(run_conf=conf)

    assert str(run.state) == "success"


def test_a_viewer_may_watch(seed: KubeClient, quota: Project) -> None:
    """The sensors need a viewer: vic's sensor gets past the check to its first poke
    (the bare Shoot is not ready, so it defers); a stranger's is refused."""
    sensor = ShootReadySensor(task_id="ready", project=quota.name, name="one")
    viewer = {"dag_run": types.SimpleNamespace(triggering_user_name=VIEWER)}
    with pytest.raises(TaskDeferred):
        sensor.execute(viewer)  # type: ignore[arg-type]
    stranger = {"dag_run": types.SimpleNamespace(triggering_user_name="mallory")}
    with pytest.raises(ProjectAccessError, match=r"user 'mallory' .* needs role viewer"):
        sensor.execute(stranger)  # type: ignore[arg-type]


def test_quota_of_two_shoots_refuses_the_third(
    seed: KubeClient, dags: dict[str, Any], quota: Project, capfd: pytest.CaptureFixture[str]
) -> None:
    pods = reconcile_pods(seed, quota.name)
    capfd.readouterr()

    with triggered_by(ADMIN):
        run = dags["garden_provision"].test(run_conf={"project": quota.name, "name": "three"})

    logged = _failure(run, capfd)
    assert (
        f"ERR_INFRA_QUOTA_EXCEEDED: project '{quota.name}' has quota maxShoots=2 and 2 "
        "shoot(s) (one, two): shoot 'three' is refused"
    ) in logged
    assert seed.find(SHOOT_API_VERSION, "Shoot", "three", quota.namespace) is None
    assert reconcile_pods(seed, quota.name) - pods == set()


def test_machine_quota_refuses_a_shoot_beyond_it(
    seed: KubeClient,
    dags: dict[str, Any],
    projects: Projects,
    quota: Project,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """maxMachines counts every shoot's pools' maximum: two shoots of 2 and one of 3 > 6."""
    roomy = Project(
        name=quota.name,
        owner=quota.owner,
        members=quota.members,
        quota=Quota(max_shoots=5, max_machines=2 * POOL_MAX + 2),
    )
    projects.apply(roomy)
    pods = reconcile_pods(seed, quota.name)
    capfd.readouterr()
    pool = _bare_shoot(quota.name, "x")["spec"]["workers"][0]

    with triggered_by(ADMIN):
        run = dags["garden_provision"].test(
            run_conf={"project": quota.name, "name": "big", "workers": [{**pool, "maximum": 3}]}
        )

    logged = _failure(run, capfd)
    assert (
        f"ERR_INFRA_QUOTA_EXCEEDED: project '{quota.name}' has quota maxMachines=6: its other "
        "shoots may have 4 machine(s) and shoot 'big' up to 3"
    ) in logged
    assert seed.find(SHOOT_API_VERSION, "Shoot", "big", quota.namespace) is None
    assert reconcile_pods(seed, quota.name) - pods == set()
    projects.apply(quota)


def test_two_shoots_created_at_once_never_pass_a_quota_of_one(
    seed: KubeClient, projects: Projects
) -> None:
    """The reconcile pods' write of a new Shoot counts the project's shoots and writes
    holding the project's quota Lease (the worker's check, which both pass while neither
    exists, only fails fast). Both count before either writes unless the Lease orders
    them: without it, both would be written."""
    project = Project(
        name=f"race-{secrets.token_hex(3)}",
        owner=OWNER,
        members=_members(),
        quota=Quota(max_shoots=1),
    )
    projects.apply(project)
    projects.ensure_namespace(project)
    both_counted = threading.Barrier(2, timeout=5)

    class CountTogether(Projects):
        def machines_by_shoot(self, project: Project) -> dict[str, int]:
            counted = super().machines_by_shoot(project)
            with contextlib.suppress(threading.BrokenBarrierError):
                both_counted.wait()  # the first to count waits for the other (or 5 s)
            return counted

    outcome: dict[str, str] = {}

    def create(name: str) -> None:
        counting = CountTogether(seed, provider_namespace=DEFAULTS.namespace)
        desired = _bare_shoot(project.name, name)
        try:
            apply_within_quota(seed, Shoots(seed), counting, desired, holder=f"race-{name}")
            outcome[name] = "written"
        except KnownCause as err:
            outcome[name] = str(err)

    try:
        threads = [threading.Thread(target=create, args=(n,)) for n in ("left", "right")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        wrote = [name for name, said in outcome.items() if said == "written"]
        assert len(wrote) == 1, f"maxShoots=1 and written: {wrote} ({outcome})"
        [written] = wrote
        [refused] = [name for name in outcome if name != written]
        assert (
            f"ERR_INFRA_QUOTA_EXCEEDED: project '{project.name}' has quota maxShoots=1 and 1 "
            f"shoot(s) ({written}): shoot '{refused}' is refused"
        ) in outcome[refused]
        shoots = seed.list(SHOOT_API_VERSION, "Shoot", project.namespace)
        assert [s["metadata"]["name"] for s in shoots] == [written]
    finally:
        seed.delete("v1", "Namespace", project.namespace)
        seed.delete(PROJECT_API_VERSION, "Project", project.name)
