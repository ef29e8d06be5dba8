"""The Shoot's CustomResourceDefinition: desired and observed state of one user cluster."""

from __future__ import annotations

from typing import Any

from airflow_provider_garden.core.shoot_schema import SHOOT, openapi

from .definition import Crd

_PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Version", "type": "string", "jsonPath": ".spec.kubernetes.version"},
    {"name": "Operation", "type": "string", "jsonPath": ".status.lastOperation.type"},
    {"name": "State", "type": "string", "jsonPath": ".status.lastOperation.state"},
    {"name": "Progress", "type": "integer", "jsonPath": ".status.lastOperation.progress"},
    {
        "name": "APIServer",
        "type": "string",
        "jsonPath": ".status.conditions[?(@.type=='APIServerAvailable')].status",
        "priority": 1,
    },
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


SHOOT_CRD = Crd(
    kind="Shoot",
    plural="shoots",
    namespaced=True,
    source="core/shoot_schema.py",
    header="""\
# The Shoot: desired state (spec) and observed state (status) of one user cluster.
# `kubectl get shoots -A` is the list of the fleet. Field semantics follow Gardener's
# core.gardener.cloud/v1beta1 Shoot where they overlap.
""",
    schema=lambda: openapi(SHOOT),
    printer_columns=_PRINTER_COLUMNS,
    status_subresource=True,
)
