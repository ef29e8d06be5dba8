"""Provider metadata, registered as the `apache_airflow_provider` entry point.

Airflow reads this to list the provider and to expose the `[garden]` config
section. `package-name` must equal the distribution name or every Airflow
command fails to load providers.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_garden import __version__


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
            "garden": {
                "description": "Defaults of the garden provider's operators and sensors.",
                "options": {
                    "kubernetes_conn_id": {
                        "description": "Airflow connection (type kubernetes) of the seed cluster.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "kubernetes_default",
                        "default": "kubernetes_default",
                    },
                    "namespace": {
                        "description": "Seed namespace where operator pods run.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "garden-system",
                        "default": "garden-system",
                    },
                    "toolbox_image": {
                        "description": "Image every operator pod runs (garden-agent entry point).",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": f"localhost/garden/toolbox:{__version__}",
                        "default": f"localhost/garden/toolbox:{__version__}",
                    },
                    "startup_timeout_seconds": {
                        "description": "How long an operator pod may stay Pending before the "
                        "task fails with the pod's events.",
                        "version_added": "0.1.0",
                        "type": "integer",
                        "example": "120",
                        "default": "120",
                    },
                },
            }
        },
    }
