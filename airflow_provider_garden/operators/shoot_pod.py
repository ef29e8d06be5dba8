"""ShootPodOperator: the base of every operator whose pod works on one shoot."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from airflow_provider_garden.hooks.garden import GardenHook
from airflow_provider_garden.operators.pod import AgentPodOperator

#: ``map_index_template`` of a mapped shoot operator: the UI lists ``team-a/dev``, not ``[3]``
SHOOT_MAP_INDEX = "{{ task.project }}/{{ task.shoot_name }}"


class ShootPodOperator(AgentPodOperator):
    """An agent pod about the shoot ``project``/``name``, with the garden hook at hand
    to read and report on that Shoot before and after the pod.

    :param project: project of the shoot (templated).
    :param name: shoot name (templated); the attribute is ``shoot_name``, since
        ``name`` is the pod's.
    """

    template_fields: Sequence[str] = (*AgentPodOperator.template_fields, "project", "shoot_name")

    def __init__(self, *, project: str, name: str, **kwargs: Any) -> None:
        self.project = project
        self.shoot_name = name
        super().__init__(**kwargs)

    @cached_property
    def garden(self) -> GardenHook:
        return GardenHook(self.kubernetes_conn_id, settings=self.settings)

    def projects(self) -> Sequence[tuple[str, object]]:
        return [("project", self.project)]
