"""The CustomResourceDefinitions of the group garden.airflow.io: Shoot and Project.

`python -m airflow_provider_garden.cli.packaging chart-sync` writes each to kube/crds/
(what `garden install` applies) and to the chart's crds/; tests fail while either file
differs from what `Crd.manifest()` returns.
"""

from __future__ import annotations

from .definition import API_VERSION, GROUP, VERSION, Crd
from .project import PROJECT_CRD
from .shoot import SHOOT_CRD

# In the order `garden install` applies them.
CRDS: tuple[Crd, ...] = (SHOOT_CRD, PROJECT_CRD)

__all__ = ["API_VERSION", "CRDS", "GROUP", "PROJECT_CRD", "SHOOT_CRD", "VERSION", "Crd"]
