"""Typed confirmation for destructive manual DAGs (teardown, restore)."""

from __future__ import annotations

from collections.abc import Mapping

from airflow.sdk.exceptions import AirflowFailException


def require_typed_confirmation(params: Mapping[str, str], action: str) -> tuple[str, str]:
    """Fail (without retries) unless ``params.confirm`` is exactly ``<project>/<name>``."""
    target = f"{params['project']}/{params['name']}"
    if params.get("confirm") != target:
        raise AirflowFailException(
            f"params.confirm must be exactly {target!r} to {action} that shoot; "
            f"got {params.get('confirm')!r}. Nothing was changed."
        )
    return params["project"], params["name"]
