"""Letting go, when a test session ends, of the backups its teardowns kept.

A teardown keeps a shoot's snapshots for days (records in ``garden-<project>``, a local
store's volume set to Retain); tests that delete shoots through a DAG, or delete a
project namespace, would leave one volume per shoot per run on the shared seed. The
sweep drops what appeared during the session and nothing older: another run's records
are not this session's to judge.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.kept_backups import RECORD_LABEL
from airflow_provider_garden.kube import kept_backups
from airflow_provider_garden.kube.client import KubeClient


@dataclass(frozen=True)
class Seen:
    records: frozenset[str]  # namespace/name of each record ConfigMap
    volumes: frozenset[str]  # kept PersistentVolumes


def dumps(found: Seen) -> str:
    return json.dumps({"records": sorted(found.records), "volumes": sorted(found.volumes)})


def loads(text: str) -> Seen:
    data = json.loads(text)
    return Seen(records=frozenset(data["records"]), volumes=frozenset(data["volumes"]))


def seen(seed: KubeClient) -> Seen:
    selector = f"{RECORD_LABEL}=true"
    return Seen(
        records=frozenset(
            f"{cm['metadata']['namespace']}/{cm['metadata']['name']}"
            for cm in seed.list(*kept_backups.CONFIGMAP, None, label_selector=selector)
        ),
        volumes=frozenset(
            pv["metadata"]["name"]
            for pv in seed.list(*kept_backups.PV, None, label_selector=selector)
        ),
    )


def sweep(seed: KubeClient, before: Seen) -> list[str]:
    """Drop the records and free the kept volumes that appeared since ``before``; one
    line per thing let go (or that could not be)."""
    lines = []
    for record in kept_backups.records(seed):
        if f"{naming.project_namespace(record.project)}/{record.record_name}" in before.records:
            continue
        try:
            lines.append(f"{record.shoot}@{record.uid}: {kept_backups.drop(seed, record)}")
        except Exception as err:  # e.g. an S3 record whose test server has stopped
            kept_backups.forget(seed, record)
            lines.append(f"{record.shoot}@{record.uid}: record forgotten ({err})")
    # A kept volume whose claim went with its project namespace: Released, still Retain.
    for pv in seed.list(*kept_backups.PV, None, label_selector=f"{RECORD_LABEL}=true"):
        name = pv["metadata"]["name"]
        released = (pv.get("status") or {}).get("phase") == "Released"
        retained = pv["spec"].get("persistentVolumeReclaimPolicy") == "Retain"
        if name in before.volumes or not (released and retained):
            continue
        seed.merge_patch(
            *kept_backups.PV, name, {"spec": {"persistentVolumeReclaimPolicy": "Delete"}}
        )
        lines.append(f"volume {name} (released by its namespace's deletion): reclaimed")
    return lines
