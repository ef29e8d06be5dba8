"""One builder for the group's CustomResourceDefinitions: each kind says only what differs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

GROUP = "garden.airflow.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"


@dataclass(frozen=True)
class Crd:
    kind: str
    plural: str
    namespaced: bool
    source: str  # the module the definition is generated from, named atop the file
    header: str  # what the kind is for, atop the generated file
    schema: Callable[[], Mapping[str, Any]]  # built when written, not at import
    printer_columns: Sequence[Mapping[str, Any]]
    status_subresource: bool = False

    @property
    def name(self) -> str:
        return f"{self.plural}.{GROUP}"

    @property
    def file(self) -> str:
        return f"{self.name}.yaml"

    def manifest(self) -> dict[str, Any]:
        version: dict[str, Any] = {"name": VERSION, "served": True, "storage": True}
        if self.status_subresource:
            version["subresources"] = {"status": {}}
        version["additionalPrinterColumns"] = [dict(c) for c in self.printer_columns]
        version["schema"] = {"openAPIV3Schema": dict(self.schema())}
        return {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": self.name},
            "spec": {
                "group": GROUP,
                "names": {
                    "kind": self.kind,
                    "listKind": f"{self.kind}List",
                    "plural": self.plural,
                    "singular": self.kind.lower(),
                    "categories": ["garden"],
                },
                "scope": "Namespaced" if self.namespaced else "Cluster",
                "versions": [version],
            },
        }
