"""Typed confirmation for destructive manual DAGs (teardown, restore)."""

from __future__ import annotations

from collections.abc import Mapping

from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_garden.core.name_rules import project_errors
from airflow_provider_garden.hooks.settings import garden_settings


def require_typed_confirmation(params: Mapping[str, str], action: str) -> tuple[str, str]:
    """Fail (without retries) unless ``params.project`` is a project and ``params.confirm``
    is exactly ``<project>/<name>``."""
    errors = project_errors(
        [("params.project", params["project"])], provider_namespace=garden_settings().namespace
    )
    if errors:
        raise AirflowFailException(f"{errors[0]}. Nothing was changed.")
    target = f"{params['project']}/{params['name']}"
    if params.get("confirm") != target:
        raise AirflowFailException(
            f"params.confirm must be exactly {target!r} to {action} that shoot; "
            f"got {params.get('confirm')!r}. Nothing was changed."
        )
    return params["project"], params["name"]
