"""Reconcile's first task: the spec against what the seed offers, and the Secrets it names.

Runs before anything is deployed (the operator validated the spec it applied, but
reconcile also runs on stored specs: maintenance, re-runs, a Secret deleted since).
Everything found is one ERR_CONFIGURATION_PROBLEM listing each field and rule; a
valid S3 store is then asked once whether it answers (``store_check``).
"""

from __future__ import annotations

from airflow_provider_garden.agent.store_check import check_s3_store
from airflow_provider_garden.core.error_codes import Cause, KnownCause
from airflow_provider_garden.core.references import reference_errors, referenced_secrets
from airflow_provider_garden.core.shoot_spec import ShootSpec, SnapstoreKind
from airflow_provider_garden.core.spec_fields import SpecError
from airflow_provider_garden.core.validation import validate
from airflow_provider_garden.kube import cloudprofile
from airflow_provider_garden.kube.client import KubeClient


def check_spec(kube: KubeClient, spec: ShootSpec, *, garden_namespace: str | None) -> None:
    """Raise KnownCause(INVALID_SPEC) naming every broken rule; nothing is changed."""
    if garden_namespace is None:
        raise RuntimeError("checking the spec needs the garden namespace (its cloud profile)")
    profile = cloudprofile.read(kube, garden_namespace)
    offer = profile.offer()
    offer["provider_namespace"] = garden_namespace  # no project may map onto it
    errors = validate(spec, **offer)
    data: dict[str, dict[str, str]] = {}
    for name in referenced_secrets(spec).values():
        found = kube.find("v1", "Secret", name, spec.project_namespace)
        if found is not None:
            data[name] = found.get("data") or {}
    errors += reference_errors(spec, {name: set(d) for name, d in data.items()})
    if errors:
        problem = SpecError(f"Shoot {spec.project}/{spec.name}", errors)
        raise KnownCause(Cause.INVALID_SPEC, str(problem)) from problem
    store = spec.backup.store if spec.backup else None
    if store is not None and store.kind is SnapstoreKind.S3 and store.secret_name:
        check_s3_store(store, data[store.secret_name])
