"""ToolboxCheckOperator: proves the seed can run this provider's pods."""

from __future__ import annotations

from typing import Any

from airflow_provider_garden import __version__
from airflow_provider_garden.operators.pod import AgentPodOperator, AgentResultError


class ToolboxCheckOperator(AgentPodOperator):
    """Run ``garden-agent version`` in the toolbox image on the seed.

    Succeeds only when the image's agent is the same version as the provider
    installed in Airflow (a stale toolbox image is the usual cause of odd
    failures) and the image carries kubectl, etcdctl and etcdutl.
    """

    verb = ("version",)

    def validate_result(self, result: dict[str, Any]) -> dict[str, Any]:
        if result.get("agent") != __version__:
            raise AgentResultError(
                f"toolbox image runs garden-agent {result.get('agent')!r}, the provider is "
                f"{__version__}: rebuild the image (make seed-up rebuilds it locally)"
            )
        missing = [tool for tool in ("kubectl", "etcdctl", "etcdutl") if not result.get(tool)]
        if missing:
            raise AgentResultError(f"toolbox image lacks {', '.join(missing)}")
        return result
