"""The Project CustomResourceDefinition (cluster-scoped), beside the Shoot's in its group.

`chart-sync` writes it to kube/crds/ and the chart's crds/ like the Shoot CRD; the
rules the schema cannot say (names, the namespace) are :mod:`.project`'s.
"""

from __future__ import annotations

from typing import Any

from .name_rules import PROJECT_RULES
from .project import Role
from .shoot_crd import GROUP, VERSION

KIND = "Project"
PLURAL = "projects"
CRD_NAME = f"{PLURAL}.{GROUP}"
CRD_FILE = f"{CRD_NAME}.yaml"
HEADER = """\
# The Project: a team's namespace (garden-<project>), its members and their roles, the
# owner a scheduled run acts as, and its quota. Gardener's Project, cluster-scoped.
"""

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


def project_crd() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": CRD_NAME},
        "spec": {
            "group": GROUP,
            "names": {
                "kind": KIND,
                "listKind": f"{KIND}List",
                "plural": PLURAL,
                "singular": "project",
                "categories": ["garden"],
            },
            "scope": "Cluster",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "additionalPrinterColumns": _PRINTER_COLUMNS,
                    "schema": {"openAPIV3Schema": _SCHEMA},
                }
            ],
        },
    }
