"""Losing a shoot's etcd data on the seed's disk, and reading the data check's answer.

Helpers of test_backup_restore's data-check tests (etcd does not start on lost data),
by control-plane namespace: the seed's volumes are read and changed on its disk.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from airflow_provider_garden.core.controlplane.manifests import (
    BACKUP_VOLUME_CLAIM,
    ETCD_VOLUME_CLAIM,
)
from airflow_provider_garden.core.etcd_data_check import INIT_CONTAINER, pod_refusal
from airflow_provider_garden.core.retention import snapshot_name
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.workload import statefulset_ready
from airflow_provider_garden.snapstore.local import LocalStore
from airflow_provider_garden.snapstore.manifest import (
    Manifest,
    manifest_key,
    read_manifest,
    write_manifest,
)

T = TypeVar("T")
# A deleted shoot of the same name: its kept snapshots share the shoot's prefix.
FOREIGN_UID = "ffffffff-0000-4000-8000-0000000000dc"


def until(check: Callable[[], T | None], *, what: str, timeout: float = 300) -> T:
    """Poll ``check`` until it returns a value; fail naming what was not seen."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not seen within {timeout:.0f}s: {what}")
        time.sleep(2)


def volume_root(seed: KubeClient, cp_ns: str, claim_name: str = ETCD_VOLUME_CLAIM) -> Path:
    """The shoot's etcd volume (or another claim's) on the seed's disk."""
    claim = seed.get("v1", "PersistentVolumeClaim", claim_name, cp_ns)
    volume = seed.get("v1", "PersistentVolume", claim["spec"]["volumeName"])
    return Path((volume["spec"].get("hostPath") or volume["spec"]["local"])["path"])


def data_check_command(seed: KubeClient, cp_ns: str) -> list[str]:
    sts = seed.get("apps/v1", "StatefulSet", "etcd", cp_ns)
    (check,) = sts["spec"]["template"]["spec"]["initContainers"]
    assert check["name"] == INIT_CONTAINER
    return list(check["command"])


def arg(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


class ForeignSnapshot:
    """A good snapshot of FOREIGN_UID, newer and at a higher revision than ``own_key``,
    in the shoot's local store (the bytes of ``own_key``, so it verifies); removed on exit."""

    def __init__(self, seed: KubeClient, cp_ns: str, own_key: str) -> None:
        self.store = LocalStore(
            root=volume_root(seed, cp_ns, BACKUP_VOLUME_CLAIM),
            prefix=arg(data_check_command(seed, cp_ns), "--prefix"),
        )
        own = read_manifest(self.store, own_key)
        created = own.created + dt.timedelta(minutes=1)
        self.key = snapshot_name(0, own.end_revision + 1000, created, own_key.endswith(".gz"))
        with self.store.fetch(own_key) as stream:
            self.store.save(self.key, stream)
        foreign = Manifest.for_snapshot(
            self.key,
            size=own.size,
            sha256=own.sha256,
            etcd_version=own.etcd_version,
            shoot_uid=FOREIGN_UID,
        )
        write_manifest(self.store, dataclasses.replace(foreign, verified=True))

    def __enter__(self) -> str:
        return self.key

    def __exit__(self, *_: object) -> None:
        self.store.delete(self.key)
        self.store.delete(manifest_key(self.key))


def etcd_pods(seed: KubeClient, cp_ns: str) -> list[dict[str, Any]]:
    return seed.list("v1", "Pod", cp_ns, label_selector="app=etcd")


def empty_data_and_restart(seed: KubeClient, cp_ns: str) -> None:
    """Stop etcd, empty its data directory on the seed's disk, start etcd again."""
    seed.merge_patch("apps/v1", "StatefulSet", "etcd", {"spec": {"replicas": 0}}, cp_ns)
    until(lambda: True if not etcd_pods(seed, cp_ns) else None, what="etcd stopped")
    data = volume_root(seed, cp_ns) / "data"
    entries = list(data.iterdir())
    assert any(e.name == "member" for e in entries), entries  # there was data to lose
    for entry in entries:
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    assert list(data.iterdir()) == []
    seed.merge_patch("apps/v1", "StatefulSet", "etcd", {"spec": {"replicas": 1}}, cp_ns)


def refusal(seed: KubeClient, cp_ns: str) -> str | None:
    return next((r for r in map(pod_refusal, etcd_pods(seed, cp_ns)) if r), None)


def refused(seed: KubeClient, cp_ns: str) -> str | None:
    """The data check's refusal; fails at once when etcd became ready instead (it started
    on the emptied directory: the loss the check exists to stop)."""
    found = refusal(seed, cp_ns)
    if found is None and statefulset_ready(seed, cp_ns, "etcd"):
        raise AssertionError("etcd started on its emptied data directory: nothing refused it")
    return found
