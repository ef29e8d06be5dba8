"""Provider metadata, registered as the `apache_airflow_provider` entry point.

Airflow reads this to list the provider and to expose the `[garden]` config
section. `package-name` must equal the distribution name or every Airflow
command fails to load providers.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_garden import __version__
from airflow_provider_garden.core.settings import CONNECTION_FIELDS, OPTIONS, SECTION

#: The ``garden`` connection's form: how to authenticate (read by cncf-kubernetes'
#: KubernetesHook, under the names its own connection uses) ...
_AUTH_FIELDS: dict[str, dict[str, Any]] = {
    "in_cluster": {
        "label": "In cluster",
        "description": "Use the service account of the pod Airflow runs in.",
        "schema": {"type": ["boolean", "null"]},
    },
    "kube_config_path": {
        "label": "Kubeconfig path",
        "description": "Path of a kubeconfig file on every Airflow worker and triggerer.",
        "schema": {"type": ["string", "null"]},
    },
    "kube_config": {
        "label": "Kubeconfig (YAML or JSON)",
        "description": "The kubeconfig itself; stored encrypted.",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "cluster_context": {
        "label": "Context",
        "description": "The kubeconfig's context to use (default: its current context).",
        "schema": {"type": ["string", "null"]},
    },
}
#: ... and what this seed changes of ``[garden]`` (core.settings.CONNECTION_FIELDS).
_SEED_FIELDS: dict[str, dict[str, Any]] = {
    "namespace": {
        "label": "Seed namespace",
        # empty: unset (the form may send "" for a field left blank)
        "schema": {
            "type": ["string", "null"],
            "pattern": "^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$",
            "maxLength": 63,
        },
    },
    "toolbox_image": {"label": "Toolbox image", "schema": {"type": ["string", "null"]}},
}
_DOCS = {o.field: o for o in OPTIONS}


def _conn_fields() -> dict[str, dict[str, Any]]:
    seed = {
        name: {
            **_SEED_FIELDS[name],
            "description": f"Empty: [{SECTION}] {_DOCS[name].key}. {_DOCS[name].doc}",
        }
        for name in CONNECTION_FIELDS
    }
    return {**_AUTH_FIELDS, **seed}


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
        "connection-types": [
            {
                "connection-type": "garden",
                "hook-class-name": "airflow_provider_garden.hooks.garden.GardenHook",
                "hook-name": "Garden seed",
                "conn-fields": _conn_fields(),
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "schema", "login", "password", "port", "extra"]
                },
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
