"""Provider metadata, registered as the `apache_airflow_provider` entry point.

Airflow reads this to list the provider and to expose the `[garden]` config
section. `package-name` must equal the distribution name or every Airflow
command fails to load providers.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_garden import __version__
from airflow_provider_garden.core.settings import OPTIONS, SECTION


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-garden",
        "name": "Garden",
        "description": "Run a fleet of Kubernetes clusters the way Gardener does, with Airflow "
        "as the gardener: shoots, etcd backups, machine rollouts, kustomize add-ons.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Garden",
                "external-doc-url": "https://gardener.cloud/docs/",
                "tags": ["software"],
            }
        ],
        "operators": [
            {
                "integration-name": "Garden",
                "python-modules": [
                    "airflow_provider_garden.operators.etcd",
                    "airflow_provider_garden.operators.kustomize",
                    "airflow_provider_garden.operators.machines",
                    "airflow_provider_garden.operators.pod",
                    "airflow_provider_garden.operators.selfcheck",
                    "airflow_provider_garden.operators.shoot",
                    "airflow_provider_garden.operators.shoot_pod",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "Garden",
                "python-modules": ["airflow_provider_garden.sensors.shoot"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Garden",
                "python-modules": ["airflow_provider_garden.hooks.garden"],
            }
        ],
        "triggers": [
            {
                "integration-name": "Garden",
                "python-modules": ["airflow_provider_garden.triggers.shoot"],
            }
        ],
        "config": {
            SECTION: {
                "description": "The provider's settings (core/settings.py GardenSettings).",
                "options": {
                    o.key: {
                        "description": o.doc,
                        "version_added": "0.1.0",
                        "type": o.type,
                        "example": o.default,
                        "default": o.default,
                    }
                    for o in OPTIONS
                },
            }
        },
    }
