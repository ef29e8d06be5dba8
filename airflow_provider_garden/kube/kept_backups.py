"""Keep a deleted shoot's snapshots in its project namespace, find them, let them go.

The rules (what is kept, for how long, who may drop it early) are in
``core/kept_backups.py``; this module only talks to the seed. A record is a
ConfigMap in ``garden-<project>``; a ``local`` store's volume is kept by setting its
PersistentVolume to Retain and re-binding it to a claim there (no data is copied); the
control plane's etcd encryption keys are copied there as a Secret before the record is
written, and deleted after the snapshots, before the record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Collection
from typing import Any

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.controlplane import etcd_pod
from airflow_provider_garden.core.controlplane.encryption import ENCRYPTION_FILE, ENCRYPTION_SECRET
from airflow_provider_garden.core.controlplane.manifests import BACKUP_VOLUME_CLAIM, MANAGED_BY
from airflow_provider_garden.core.kept_backups import (
    RECORD_LABEL,
    KeptBackups,
    KeptBackupsError,
    plan_expiry,
    record_name,
)
from airflow_provider_garden.kube.agent_pod import agent_pod, run_agent_pod
from airflow_provider_garden.kube.client import KubeClient, Manifest

log = logging.getLogger(__name__)
PVC = ("v1", "PersistentVolumeClaim")
PV = ("v1", "PersistentVolume")
CONFIGMAP = ("v1", "ConfigMap")
SECRET = ("v1", "Secret")
KEEP_WAIT = 120.0  # seconds for the kept claim to bind


def _labels(record: KeptBackups) -> dict[str, str]:
    return {
        **MANAGED_BY,
        RECORD_LABEL: "true",
        "garden.airflow.io/project": record.project,
        "garden.airflow.io/shoot": record.name,
        "garden.airflow.io/shoot-uid": record.uid,
    }


def record_manifest(record: KeptBackups) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": record.record_name,
            "namespace": naming.project_namespace(record.project),
            "labels": _labels(record),
        },
        "data": record.to_data(),
    }


def bound_volume(kube: KubeClient, controlplane_namespace: str) -> str | None:
    """The PersistentVolume behind the shoot's local store; None: nothing was ever
    written there (the claim never bound) or it is gone."""
    claim = kube.find(*PVC, BACKUP_VOLUME_CLAIM, controlplane_namespace)
    if claim is None:
        return None
    return (claim.get("spec") or {}).get("volumeName") or None


def encryption_keys(kube: KubeClient, controlplane_namespace: str) -> str | None:
    """The control plane's encryption configuration (base64, as the Secret holds it);
    None: the shoot has none (from before encryption at rest, or already deleted)."""
    found = kube.find(*SECRET, ENCRYPTION_SECRET, controlplane_namespace)
    return ((found or {}).get("data") or {}).get(ENCRYPTION_FILE)


def keep_keys(kube: KubeClient, record: KeptBackups, *, controlplane_namespace: str) -> None:
    """Copy the control plane's encryption keys beside the record (its ``keySecret``)."""
    if record.key_secret is None:
        return
    project_ns = naming.project_namespace(record.project)
    config = encryption_keys(kube, controlplane_namespace)
    if config is None:
        if kube.find(*SECRET, record.key_secret, project_ns) is not None:
            return  # copied by an earlier try, the control plane's Secret gone since
        raise KeptBackupsError(
            f"{controlplane_namespace}/{ENCRYPTION_SECRET} is gone and was not kept: "
            f"the snapshots of {record.shoot}@{record.uid} may be unreadable"
        )
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {
                "name": record.key_secret,
                "namespace": project_ns,
                "labels": _labels(record),
            },
            "data": {ENCRYPTION_FILE: config},
        }
    )


def keep(kube: KubeClient, record: KeptBackups, *, controlplane_namespace: str) -> None:
    """Copy the encryption keys, write the record, then (local) move the store's volume
    to the project namespace, then mark the record complete.

    Safe to repeat: each step is an apply or a patch to the same end. The volume is set
    to Retain before anything else, so no later step (nor the namespace's deletion) can
    delete its data. The keys are kept before the record that names them.
    """
    keep_keys(kube, record, controlplane_namespace=controlplane_namespace)
    # Written incomplete first: no expiry drops what this teardown is still moving.
    kube.apply(record_manifest(dataclasses.replace(record, complete=False)))
    if not _keep_volume(kube, record, controlplane_namespace=controlplane_namespace):
        # Its snapshots went with it: no record may promise them, and holding the
        # teardown up would save nothing.
        log.warning(
            "%s's local store volume is gone (deleted outside the teardown): nothing "
            "of its snapshots is kept",
            record.shoot,
        )
        forget(kube, record)
        return
    kube.apply(record_manifest(dataclasses.replace(record, complete=True)))


def _keep_volume(kube: KubeClient, record: KeptBackups, *, controlplane_namespace: str) -> bool:
    """Local: set the store's volume to Retain and re-bind it to the kept claim. False:
    the claim names a volume that no longer exists."""
    claim_name = record.claim
    if claim_name is None:
        return True
    volume = bound_volume(kube, controlplane_namespace)
    if volume is None:
        kept = kube.find(*PVC, claim_name, naming.project_namespace(record.project))
        if kept is None:
            raise KeptBackupsError(
                f"{controlplane_namespace}/{BACKUP_VOLUME_CLAIM} has no volume to keep"
            )
        return True  # moved by an earlier try
    if kube.find(*PV, volume) is None:
        return False
    kube.merge_patch(
        *PV,
        volume,
        {
            "metadata": {"labels": _labels(record)},
            "spec": {"persistentVolumeReclaimPolicy": "Retain"},
        },
    )
    source = kube.get(*PVC, BACKUP_VOLUME_CLAIM, controlplane_namespace)
    project_ns = naming.project_namespace(record.project)
    spec = source["spec"]
    claim: Manifest = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": claim_name, "namespace": project_ns, "labels": _labels(record)},
        "spec": {
            "accessModes": spec["accessModes"],
            "resources": {"requests": spec["resources"]["requests"]},
            "volumeName": volume,
            # A pre-bound claim binds only with its volume's class.
            "storageClassName": kube.get(*PV, volume)["spec"].get("storageClassName") or "",
        },
    }
    if kube.find(*PVC, claim_name, project_ns) is None:
        kube.create(claim)
    # Point the volume at the kept claim (null drops the old claim's uid and version).
    kube.merge_patch(
        *PV,
        volume,
        {
            "spec": {
                "claimRef": {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "namespace": project_ns,
                    "name": claim_name,
                    "uid": None,
                    "resourceVersion": None,
                }
            }
        },
    )
    kube.wait_for(
        f"claim {project_ns}/{record.claim} bound to {volume}",
        lambda: (
            (kube.get(*PVC, claim_name, project_ns).get("status") or {}).get("phase") == "Bound"
        ),
        timeout=KEEP_WAIT,
    )
    log.info(
        "kept %s's local snapshots: volume %s as %s/%s",
        record.shoot,
        volume,
        project_ns,
        record.claim,
    )
    return True


def records(kube: KubeClient, project: str | None = None) -> list[KeptBackups]:
    """Every deleted shoot's kept snapshots (of one project, or all), oldest expiry first."""
    namespace = naming.project_namespace(project) if project else None
    found = []
    for cm in kube.list(*CONFIGMAP, namespace, label_selector=f"{RECORD_LABEL}=true"):
        meta = cm["metadata"]
        where = f"ConfigMap {meta.get('namespace')}/{meta['name']}"
        found.append(KeptBackups.from_data(cm.get("data") or {}, where=where))
    return sorted(found, key=lambda r: (r.expires, r.uid))


def kept_uids(kube: KubeClient, project: str, name: str) -> list[str]:
    """The UIDs of deleted shoots of ``name`` with kept snapshots, from the records'
    labels (a malformed record's JSON does not stop the reconcile that asks)."""
    selector = f"{RECORD_LABEL}=true,garden.airflow.io/shoot={name}"
    found = kube.list(*CONFIGMAP, naming.project_namespace(project), label_selector=selector)
    labels = [cm["metadata"].get("labels") or {} for cm in found]
    return sorted(uid for uid in (lab.get("garden.airflow.io/shoot-uid") for lab in labels) if uid)


def find(kube: KubeClient, project: str, name: str, uid: str) -> KeptBackups | None:
    """The record of one deleted incarnation, or None."""
    namespace = naming.project_namespace(project)
    cm = kube.find(*CONFIGMAP, record_name(name, uid), namespace)
    if cm is None:
        return None
    where = f"ConfigMap {namespace}/{record_name(name, uid)}"
    return KeptBackups.from_data(cm.get("data") or {}, where=where)


def release_volume(kube: KubeClient, record: KeptBackups) -> None:
    """Local: give the kept volume back to its provisioner (reclaim Delete), then delete
    the claim: the provisioner deletes the data with the volume."""
    claim_name = record.claim
    if claim_name is None:
        raise KeptBackupsError(f"{record.shoot}@{record.uid} has no kept volume")
    project_ns = naming.project_namespace(record.project)
    claim = kube.find(*PVC, claim_name, project_ns)
    volume = (claim or {}).get("spec", {}).get("volumeName")
    if volume:
        kube.merge_patch(*PV, volume, {"spec": {"persistentVolumeReclaimPolicy": "Delete"}})
    kube.delete(*PVC, claim_name, project_ns)
    # A claim stays until no pod mounts it (e.g. a listing pod still ending): the record
    # goes only once the claim did, so a failed wait leaves both for the next run.
    kube.wait_for(
        f"claim {project_ns}/{claim_name} deleted",
        lambda: kube.find(*PVC, claim_name, project_ns) is None,
        timeout=KEEP_WAIT,
    )


def forget(kube: KubeClient, record: KeptBackups) -> None:
    """The kept encryption keys, then the record (its snapshots are gone already)."""
    project_ns = naming.project_namespace(record.project)
    if record.key_secret is not None:
        kube.delete(*SECRET, record.key_secret, project_ns)
    kube.delete(*CONFIGMAP, record.record_name, project_ns)


def kept_keys(kube: KubeClient, project: str, name: str, uid: str) -> str | None:
    """The encryption configuration (base64) a teardown kept of shoot UID ``uid``; None:
    no record, or the shoot had no key (its snapshots hold Secrets in clear)."""
    record = find(kube, project, name, uid)
    if record is None or record.key_secret is None:
        return None
    found = kube.find(*SECRET, record.key_secret, naming.project_namespace(project))
    if found is None:
        raise KeptBackupsError(
            f"{record.record_name} names Secret {record.key_secret}, which is gone: "
            f"the Secrets in {record.shoot}@{uid}'s snapshots cannot be read"
        )
    return str((found.get("data") or {})[ENCRYPTION_FILE])


def _store_pod(record: KeptBackups, *verb: str) -> Any:
    volumes, mounts, store_args = etcd_pod.kept_store_volumes(record)
    return agent_pod(
        naming.project_namespace(record.project),
        ["etcd", *verb, *store_args],
        volumes,
        mounts,
        name=f"garden-kept-{verb[0]}",
    )


def list_snapshots(kube: KubeClient, record: KeptBackups) -> dict[str, Any]:
    """`garden-agent etcd ls` over the kept store, from a pod in the project namespace."""
    return run_agent_pod(kube, _store_pod(record, "ls"))


def drop(kube: KubeClient, record: KeptBackups) -> str:
    """Delete one deleted shoot's kept snapshots, then its record; says what went."""
    if record.claim is not None:
        release_volume(kube, record)  # the whole volume was that shoot's
        what = f"volume claim {record.claim} released"
    else:
        result = run_agent_pod(kube, _store_pod(record, "drop", "--shoot-uid", record.uid))
        what = f"{result['droppedCount']} snapshot(s) deleted"
    forget(kube, record)
    return what


def expire(
    kube: KubeClient,
    *,
    now: dt.datetime,
    drop_uid: str | None = None,
    confirm: str | None = None,
    only: Collection[str] = (),
) -> list[dict[str, str]]:
    """Drop what expired at ``now`` (and ``drop_uid`` when confirmed) of the shoots
    ``only`` names (all when empty); one line per record with its ``outcome`` (kept,
    dropped, failed). Every record is tried."""
    report = []
    decisions = plan_expiry(records(kube), now=now, drop_uid=drop_uid, confirm=confirm, only=only)
    for decision in decisions:
        r = decision.record
        outcome, reason = "kept", decision.reason
        if decision.goes:
            try:
                outcome, reason = "dropped", f"{reason}: {drop(kube, r)}"
            except Exception as err:
                outcome, reason = "failed", f"{reason}: {type(err).__name__}: {err}"
        report.append(
            {
                "shoot": r.shoot,
                "uid": r.uid,
                "verdict": str(decision.verdict),
                "outcome": outcome,
                "reason": reason,
            }
        )
    return report
