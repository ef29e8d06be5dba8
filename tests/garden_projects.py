"""The Projects the integration and e2e tests provision shoots in, made by their shared fixtures.

Every shoot lives in a project, and operators refuse a project without a Project
resource or a run whose user is not a member. The tests' runs act as these users:
`dag.test()` always triggers as ``dag_test``; the e2e stack's REST calls come from
the SimpleAuthManager's all-admins user ``Anonymous``. A test of the refusals
themselves makes its own Project with other members.
"""

from __future__ import annotations

from airflow_provider_garden.core.project import Member, Project, Quota, Role
from airflow_provider_garden.core.settings import DEFAULT_NAMESPACE
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.projects import Projects

DAG_TEST_USER = "dag_test"  # airflow.sdk's Dag.test() triggers every run as this user
E2E_API_USER = "Anonymous"  # simple_auth_manager_all_admins: the token's user
#: projects the test modules name in their DAG runs and operators
TEST_PROJECTS = (
    "bk-local",
    "bk-s3",
    "bkpsched",
    "care",
    "e2e",
    "keepbk",
    "kmx",
    "kmx-absent",
    "kustomize",
    "lease",
    "machines",
    "maint",
    "rj",
    "team-a",
    "team-b",
    "team-x",
)


def project_for_tests(name: str, *, quota: Quota | None = None) -> Project:
    """A project whose admins are the users the tests' runs act as (``dag_test`` owns it)."""
    members = (Member(DAG_TEST_USER, Role.ADMIN), Member(E2E_API_USER, Role.ADMIN))
    return Project(name=name, owner=DAG_TEST_USER, members=members, quota=quota or Quota())


def ensure_projects(
    kube: KubeClient,
    names: tuple[str, ...] = TEST_PROJECTS,
    *,
    provider_namespace: str = DEFAULT_NAMESPACE,
) -> None:
    """Apply a test Project for each name (an existing one is brought back to it)."""
    projects = Projects(kube, provider_namespace=provider_namespace)
    for name in names:
        projects.apply(project_for_tests(name))
