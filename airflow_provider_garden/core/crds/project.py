"""The Project's CustomResourceDefinition (cluster-scoped), beside the Shoot's in its group.

The rules the schema cannot say (names, the namespace) are :mod:`airflow_provider_garden.core.project`'s.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_garden.core.name_rules import PROJECT_RULES
from airflow_provider_garden.core.project import Role

from .definition import Crd

_COUNT = {"type": "integer", "minimum": 0}
_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": f"Project name: {PROJECT_RULES}.",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "required": ["owner"],
            "properties": {
                "namespace": {
                    "type": "string",
                    "description": "The project's seed namespace; garden-<project> (the default).",
                },
                "owner": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Airflow user a run without a triggering user (scheduled) acts as.",
                },
                "members": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "role"],
                        "properties": {
                            "name": {
                                "type": "string",
                                "minLength": 1,
                                "description": "Airflow user name.",
                            },
                            "role": {"type": "string", "enum": [str(r) for r in Role]},
                        },
                    },
                },
                "quota": {
                    "type": "object",
                    "properties": {
                        "maxShoots": {**_COUNT, "description": "Most shoots of the project."},
                        "maxMachines": {
                            **_COUNT,
                            "description": "Most machines: the sum of every shoot's pools' maximum.",
                        },
                    },
                },
            },
        },
    },
}

_PRINTER_COLUMNS = [
    {"name": "Namespace", "type": "string", "jsonPath": ".spec.namespace"},
    {"name": "Owner", "type": "string", "jsonPath": ".spec.owner"},
    {"name": "MaxShoots", "type": "integer", "jsonPath": ".spec.quota.maxShoots"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


PROJECT_CRD = Crd(
    kind="Project",
    plural="projects",
    namespaced=False,
    source="core/crds/project.py",
    header="""\
# The Project: a team's namespace (garden-<project>), its members and their roles, the
# owner a scheduled run acts as, and its quota. Gardener's Project, cluster-scoped.
""",
    schema=lambda: _SCHEMA,
    printer_columns=_PRINTER_COLUMNS,
)
