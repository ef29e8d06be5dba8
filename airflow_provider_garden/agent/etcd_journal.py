"""The restore journal's home: one ConfigMap in the shoot's control-plane namespace.

Why there and not in the Shoot's status: the restore pod's account reaches only that
namespace (it cannot write Shoots), the journal lives and dies with the etcd volume it
describes, and its writes never race with the writers of ``status.lastOperation``.
"""

from __future__ import annotations

import json

from airflow_provider_garden.core.restore_journal import (
    JOURNAL_CONFIGMAP,
    JOURNAL_KEY,
    RestoreJournal,
)
from airflow_provider_garden.kube.client import KubeClient


class JournalStore:
    def __init__(self, kube: KubeClient, namespace: str) -> None:
        self.kube = kube
        self.namespace = namespace

    def read(self) -> RestoreJournal | None:
        found = self.kube.find("v1", "ConfigMap", JOURNAL_CONFIGMAP, self.namespace)
        text = ((found or {}).get("data") or {}).get(JOURNAL_KEY)
        if not text:
            return None
        where = f"ConfigMap {self.namespace}/{JOURNAL_CONFIGMAP} key {JOURNAL_KEY}"
        return RestoreJournal.from_dict(json.loads(text), where)

    def write(self, journal: RestoreJournal) -> RestoreJournal:
        """Record ``journal``; returns only once the API server stored it."""
        data = {JOURNAL_KEY: json.dumps(journal.to_dict(), sort_keys=True)}
        if self.kube.find("v1", "ConfigMap", JOURNAL_CONFIGMAP, self.namespace) is None:
            self.kube.create(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": JOURNAL_CONFIGMAP, "namespace": self.namespace},
                    "data": data,
                }
            )
        else:
            self.kube.merge_patch(
                "v1", "ConfigMap", JOURNAL_CONFIGMAP, {"data": data}, self.namespace
            )
        return journal


def refuse_open_restore(kube: KubeClient, namespace: str) -> None:
    """Raise naming the phase when a restore of this control plane is still open."""
    journal = JournalStore(kube, namespace).read()
    why = journal.refusal() if journal else None
    if why:
        raise RuntimeError(f"not scaling up the control plane in {namespace}: {why}")
