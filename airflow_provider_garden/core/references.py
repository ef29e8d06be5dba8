"""Objects a Shoot spec names outside itself, and what is wrong with them.

Reconcile checks these before it deploys anything: a missing backup Secret found
after the control plane is up would leave etcd without backups (or a pod that never
starts). Pure: the caller reads the Secrets and passes their data keys in.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from .shoot_spec import ShootSpec, SnapstoreKind
from .spec_fields import FieldError

# The files snapstore/s3.py reads from the mounted Secret (``region``/``endpoint`` optional).
S3_SECRET_KEYS = ("accessKeyID", "secretAccessKey")
SECRET_REF = "spec.backup.store.secretRef.name"


def referenced_secrets(spec: ShootSpec) -> dict[str, str]:
    """Field path -> name of each Secret (in the project's namespace) the spec references."""
    backup = spec.backup
    if backup is None or backup.store.kind is not SnapstoreKind.S3 or not backup.store.secret_name:
        return {}
    return {SECRET_REF: backup.store.secret_name}


def reference_errors(
    spec: ShootSpec, secret_keys: Mapping[str, Collection[str] | None]
) -> list[FieldError]:
    """What is wrong with the referenced Secrets, given each one's data keys (None: absent)."""
    errors = []
    for path, name in referenced_secrets(spec).items():
        keys = secret_keys.get(name)
        where = f"Secret {spec.project_namespace}/{name}"
        if keys is None:
            errors.append(FieldError(path, f"{where} does not exist"))
            continue
        missing = [k for k in S3_SECRET_KEYS if k not in keys]
        if missing:
            errors.append(FieldError(path, f"{where} has no key {', '.join(missing)}"))
    return errors
