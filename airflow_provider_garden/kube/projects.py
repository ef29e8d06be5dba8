"""The Project kind: read a project (typed), apply one, make its namespace, count its shoots.

The decisions (who may act, what fits the quota) are :mod:`..core.project`'s;
this module only reads and writes what they need.
"""

from __future__ import annotations

from collections import Counter

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.crds import PROJECT_CRD
from airflow_provider_garden.core.project import (
    Project,
    parse_project,
    project_resource,
    shoot_machines,
)
from airflow_provider_garden.core.seed_policy import POD_SECURITY_LABELS
from airflow_provider_garden.kube.client import KubeClient, Manifest
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION

PROJECT_API_VERSION = SHOOT_API_VERSION  # the same group and version
#: on the namespace made from a Project: whose it is
PROJECT_LABEL = "garden.airflow.io/project"


class Projects:
    """Projects in the seed; ``provider_namespace`` (``[garden] namespace``) is never one's."""

    def __init__(self, kube: KubeClient, *, provider_namespace: str) -> None:
        self.kube = kube
        self.provider_namespace = provider_namespace

    def find(self, name: str) -> Project | None:
        """The project ``name`` (None when no Project resource has it); SpecError if malformed."""
        found = self.kube.find(PROJECT_API_VERSION, PROJECT_CRD.kind, name)
        if found is None:
            return None
        return parse_project(found, provider_namespace=self.provider_namespace)

    def apply(self, project: Project) -> Manifest:
        return self.kube.apply(project_resource(project, api_version=PROJECT_API_VERSION))

    def ensure_namespace(self, project: Project) -> Manifest:
        """Create (or keep) the project's namespace ``garden-<project>``, labelled with it."""
        return self.kube.apply(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": project.namespace,
                    "labels": {PROJECT_LABEL: project.name, **POD_SECURITY_LABELS},
                },
            }
        )

    def machines_by_shoot(self, project: Project) -> dict[str, int]:
        """Each Shoot of the project -> the most machines it may have (its pools' maximum)."""
        return {
            shoot["metadata"]["name"]: shoot_machines(shoot.get("spec") or {})
            for shoot in self.kube.list(SHOOT_API_VERSION, "Shoot", project.namespace)
        }

    def without_project(self) -> dict[str, int]:
        """Projects whose namespace holds Shoots that no Project names (installs from
        before Projects): project -> its number of Shoots."""
        named = {str(p["metadata"]["name"]) for p in self.kube.list(PROJECT_API_VERSION, "Project")}
        counts: Counter[str] = Counter()
        for shoot in self.kube.list(SHOOT_API_VERSION, "Shoot"):
            namespace = str(shoot["metadata"]["namespace"])
            project = namespace.removeprefix(naming.project_namespace(""))
            if project != namespace and project not in named:
                counts[project] += 1
        return dict(sorted(counts.items()))
