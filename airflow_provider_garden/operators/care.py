"""ShootCareOperator: one pod that observes the whole fleet (``garden-agent care``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_garden.core import care
from airflow_provider_garden.operators.pod import AgentPodOperator, AgentResultError


class ShootCareOperator(AgentPodOperator):
    """Observe every shoot and write its conditions, constraints and status label.

    One pod checks the fleet, ``parallelism`` shoots at a time. The task fails when a
    shoot could not be cared for (its line in the result says why); unhealthy shoots
    are the result, not a failure.

    :param project: only this project's shoots; "" for every project (templated).
    :param thresholds: seconds a condition may stay Progressing before it is False, by
        condition type (templated; a dict or its JSON text); others keep their defaults.
    :param parallelism: shoots observed at once (templated).
    """

    template_fields = (*AgentPodOperator.template_fields, "project", "thresholds", "parallelism")
    verb = ("care",)
    service_account = "garden-care"

    def __init__(
        self,
        *,
        project: str = "",
        thresholds: Mapping[str, float] | str | None = None,
        parallelism: int | str = 8,
        **kwargs: Any,
    ) -> None:
        self.project = project
        self.thresholds = thresholds
        self.parallelism = parallelism
        super().__init__(**kwargs)

    def _threshold_map(self) -> dict[str, float]:
        raw = self.thresholds or {}
        parsed = json.loads(raw) if isinstance(raw, str) else dict(raw)
        care.parse_thresholds(parsed)  # raises naming the field and the rule
        return {str(k): float(v) for k, v in parsed.items()}

    def projects(self) -> Sequence[tuple[str, object]]:
        return [("project", self.project)] if self.project != "" else []

    def validate_inputs(self) -> None:
        parallelism = int(self.parallelism)
        if parallelism < 1:
            raise ValueError(f"parallelism: must be at least 1, got {parallelism}")
        args = ["--parallelism", str(parallelism)]
        if self.project:
            args += ["--project", self.project]
        for kind, seconds in self._threshold_map().items():
            args += ["--threshold", f"{kind}={seconds:g}"]
        self.arguments = self.agent_command(*args)

    def validate_result(self, result: dict[str, Any]) -> dict[str, Any]:
        if result.get("errorCount"):
            raise AgentResultError(
                f"care could not judge {result['errorCount']} of {result.get('shoots')} "
                f"shoots: {'; '.join(result.get('errors', []))}"
            )
        return result
