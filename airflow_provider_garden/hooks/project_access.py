"""Who a DAG run acts as, and whether that user may act in a project: checked before anything exists.

The Airflow side of :mod:`..core.project`: it reads the run's triggering user
(``dag_run.triggering_user_name``; a scheduled run has none and acts as the
project's owner) and the Project from the seed, and raises the core's refusal.
Refusals fail the task without retries: the next try would be refused the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_garden.core.project import (
    Project,
    Role,
    access_problem,
    acting_user,
    missing_project,
)
from airflow_provider_garden.core.settings import GardenSettings
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.projects import Projects

if TYPE_CHECKING:
    from airflow.sdk import Context


class ProjectAccessError(AirflowFailException):
    """The project does not exist, or the run's user may not act in it with the needed role."""


def triggering_user(context: Context) -> str | None:
    """The user who triggered the run (None for a scheduled run)."""
    dag_run = context.get("dag_run")
    user = getattr(dag_run, "triggering_user_name", None)
    return str(user) if user else None


def authorize(
    kube: KubeClient,
    settings: GardenSettings,
    context: Context,
    projects: Sequence[tuple[str, object]],
    *,
    needed: Role,
    operation: str,
) -> dict[str, Project]:
    """Each named project, read from the seed, once its acting user may ``operation`` in it.

    :param projects: ``(argument, project name)`` pairs, already checked against the
        name rules.
    :raises ProjectAccessError: naming the project (missing), or the user, the project
        and the role it lacks.
    """
    reader = Projects(kube, provider_namespace=settings.namespace)
    user = triggering_user(context)
    allowed: dict[str, Project] = {}
    for _argument, name in projects:
        name = str(name)
        project = reader.find(name)
        if project is None:
            raise ProjectAccessError(f"{operation}: {missing_project(name)}")
        problem = access_problem(
            project,
            acting_user(user, project),
            needed,
            operation=operation,
            installation_admins=settings.project_admins,
        )
        if problem is not None:
            raise ProjectAccessError(problem)
        allowed[name] = project
    return allowed
