"""The Shoot resource as a camelCase dict: the inverse of ``parse_shoot``.

ShootCreateOperator parses what the DAG gave, then applies ``to_resource`` of the
result: the stored Shoot carries every default explicitly, in the schema's shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import naming
from .shoot_spec import ShootSpec, format_duration
from .store_space import format_size


def spec_to_dict(spec: ShootSpec) -> dict[str, object]:
    """The camelCase ``spec`` section for ``spec`` (defaults made explicit)."""
    out: dict[str, object] = {
        "kubernetes": {"version": spec.kubernetes_version},
        "networking": {
            "pods": spec.networking.pods,
            "services": spec.networking.services,
            **({"nodes": spec.networking.nodes} if spec.networking.nodes else {}),
        },
        "workers": [
            {
                "name": w.name,
                "machine": {
                    "type": w.machine_type,
                    "image": {"name": w.image.name, "version": w.image.version},
                },
                "minimum": w.minimum,
                "maximum": w.maximum,
                "maxSurge": w.max_surge,
                "maxUnavailable": w.max_unavailable,
                "machineHealthTimeout": format_duration(w.machine_health_timeout),
                "allowScaleToZero": w.allow_scale_to_zero,
            }
            for w in spec.workers
        ],
        "maintenance": {
            "timeWindow": {"begin": spec.maintenance.begin, "end": spec.maintenance.end},
            **({"weekdays": list(spec.maintenance.weekdays)} if spec.maintenance.weekdays else {}),
            **(
                {"exclusions": list(spec.maintenance.exclusions)}
                if spec.maintenance.exclusions
                else {}
            ),
            "autoUpdate": {
                "kubernetesVersion": spec.maintenance.auto_update_kubernetes,
                "machineImageVersion": spec.maintenance.auto_update_machine_image,
            },
        },
    }
    if spec.addons:
        git = spec.addons.git
        kustomize: dict[str, object] = {}
        if spec.addons.path is not None:
            kustomize["path"] = spec.addons.path
        if git is not None:
            kustomize["git"] = {"url": git.url, "ref": git.ref, "path": git.path}
        out["addons"] = {"kustomize": kustomize}
    if spec.backup:
        store = spec.backup.store
        out["backup"] = {
            "store": {
                "kind": str(store.kind),
                "prefix": store.prefix,
                **({"bucket": store.bucket} if store.bucket else {}),
                **({"secretRef": {"name": store.secret_name}} if store.secret_name else {}),
                **(
                    {"volumeSize": format_size(store.volume_size)}
                    if store.volume_size is not None
                    else {}
                ),
            },
            "schedule": spec.backup.schedule,
            "autoRestore": spec.backup.auto_restore,
            "retention": {
                "policy": str(spec.backup.policy),
                **(
                    {"maxBackups": spec.backup.max_backups}
                    if spec.backup.max_backups is not None
                    else {}
                ),
            },
            "retentionAfterDeletion": format_duration(spec.backup.retention_after_deletion),
        }
    return out


def envelope(
    project: str, name: str, spec: Mapping[str, object], *, api_version: str
) -> dict[str, Any]:
    """A Shoot resource around a camelCase ``spec`` as written (to parse user input)."""
    return {
        "apiVersion": api_version,
        "kind": "Shoot",
        "metadata": {"name": name, "namespace": naming.project_namespace(project)},
        "spec": dict(spec),
    }


def to_resource(
    spec: ShootSpec, *, api_version: str, annotations: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A complete Shoot resource for ``spec`` (``api_version`` is the CRD's group/version)."""
    resource = envelope(spec.project, spec.name, spec_to_dict(spec), api_version=api_version)
    if annotations:
        resource["metadata"]["annotations"] = dict(annotations)
    return resource
