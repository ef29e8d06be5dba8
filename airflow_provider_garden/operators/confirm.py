"""Typed confirmation for destructive manual DAGs (teardown, restore)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_garden.core.name_rules import project_errors
from airflow_provider_garden.core.project import Role
from airflow_provider_garden.hooks.garden import GardenHook
from airflow_provider_garden.hooks.project_access import authorize


def require_typed_confirmation(params: Mapping[str, str], action: str) -> tuple[str, str]:
    """Fail (without retries) unless ``params.project`` is a project and ``params.confirm``
    is exactly ``<project>/<name>``."""
    # the seed's provider namespace (its garden connection's, if set): no project maps onto it
    namespace = GardenHook().settings.namespace
    errors = project_errors([("params.project", params["project"])], provider_namespace=namespace)
    if errors:
        raise AirflowFailException(f"{errors[0]}. Nothing was changed.")
    target = f"{params['project']}/{params['name']}"
    if params.get("confirm") != target:
        raise AirflowFailException(
            f"params.confirm must be exactly {target!r} to {action} that shoot; "
            f"got {params.get('confirm')!r}. Nothing was changed."
        )
    return params["project"], params["name"]


def require_project_admin(hook: GardenHook, project: str, dag_run: Any, operation: str) -> None:
    """Fail (without retries) unless the run's user is an admin of ``project``: a task that
    writes before the operator (the deletion annotation) checks first, like the operator."""
    authorize(
        hook.kube,
        hook.settings,
        {"dag_run": dag_run},  # type: ignore[typeddict-item]
        [("params.project", project)],
        needed=Role.ADMIN,
        operation=operation,
    )
