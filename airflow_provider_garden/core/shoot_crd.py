"""The Shoot CustomResourceDefinition, generated from :mod:`.shoot_schema`.

`python -m airflow_provider_garden.cli.packaging chart-sync` writes it to
kube/crds/ (what `garden install` applies) and to the chart's crds/; unit tests
fail while either file differs from what this module returns.
"""

from __future__ import annotations

from typing import Any

from .shoot_schema import SHOOT, openapi

GROUP = "garden.airflow.io"
VERSION = "v1alpha1"
PLURAL = "shoots"
CRD_NAME = f"{PLURAL}.{GROUP}"
CRD_FILE = f"{CRD_NAME}.yaml"
HEADER = """\
# The Shoot: desired state (spec) and observed state (status) of one user cluster.
# `kubectl get shoots -A` is the list of the fleet. Field semantics follow Gardener's
# core.gardener.cloud/v1beta1 Shoot where they overlap.
"""

_PRINTER_COLUMNS = [
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


def shoot_crd() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": CRD_NAME},
        "spec": {
            "group": GROUP,
            "names": {
                "kind": "Shoot",
                "listKind": "ShootList",
                "plural": PLURAL,
                "singular": "shoot",
                "categories": ["garden"],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": _PRINTER_COLUMNS,
                    "schema": {"openAPIV3Schema": openapi(SHOOT)},
                }
            ],
        },
    }
