"""The kubectl tests run: the seed's own build (the pinned Kubernetes), never the machine's."""

from __future__ import annotations

import functools

from airflow_provider_garden.localseed.build import ensure_kubectl
from airflow_provider_garden.localseed.paths import SeedPaths


@functools.cache
def kubectl() -> str:
    """Path of the seed's kubectl, built into the seed's cache when missing."""
    return str(ensure_kubectl(SeedPaths.default()))
