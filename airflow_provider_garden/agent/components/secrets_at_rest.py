"""The shoot's Secrets encrypted in its etcd (and so in every snapshot of it).

kube-apiserver encrypts what it writes from the run that gave it its key on
(core/controlplane/secrets.py, ``etcd-encryption``). Secrets written before, by a
shoot older than encryption at rest, stay in clear until written again: the run that
issues the key rewrites every Secret of the shoot, unchanged, through the new server.
(The run marks the rewrite due first, so one that fails half-way is finished by the
next.) So does the first run after a restore of a deleted shoot's snapshot (it marks the
rewrite due on ``etcd-encryption``: agent/etcd_restore.py): its Secrets, written under
that shoot's kept keys, are then under this shoot's own key. The mark goes once every
Secret was written; the kept keys stay readable (snapshots taken before still hold
values written under them).
"""

from __future__ import annotations

import logging

from airflow_provider_garden.agent.components.secrets import ControlPlaneSecrets, ShootAccess
from airflow_provider_garden.core.controlplane.encryption import (
    ENCRYPTION_SECRET,
    REWRITE_ANNOTATION,
)
from airflow_provider_garden.kube.errors import Conflict, NotFound

log = logging.getLogger(__name__)


class SecretsAtRest:
    name = "secrets encryption at rest"

    def __init__(self, shoot: ShootAccess, secrets: ControlPlaneSecrets) -> None:
        self.shoot = shoot
        self.secrets = secrets

    def _restored_from(self) -> str | None:
        """The UID whose snapshot a restore put back since the last rewrite, if any."""
        found = self.secrets.kube.find("v1", "Secret", ENCRYPTION_SECRET, self.secrets.cp.namespace)
        return ((found or {}).get("metadata", {}).get("annotations") or {}).get(REWRITE_ANNOTATION)

    def _mark(self, value: str | None) -> None:
        patch = {"metadata": {"annotations": {REWRITE_ANNOTATION: value}}}
        self.secrets.kube.merge_patch(
            "v1", "Secret", ENCRYPTION_SECRET, patch, self.secrets.cp.namespace
        )

    def deploy(self) -> None:
        due = self._restored_from()
        if ENCRYPTION_SECRET in self.secrets.issued and due is None:
            due = "a new key"
            self._mark(due)  # a rewrite that fails half-way is done by the next run
        if due is None:
            return  # everything was written under this shoot's keys already
        self._rewrite()
        self._mark(None)
        log.info("%s: the Secrets (%s) are under this shoot's key", self.name, due)

    def _rewrite(self) -> None:
        client = self.shoot.client()
        rewritten = 0
        for secret in client.list("v1", "Secret"):
            meta = secret["metadata"]
            try:  # list items carry no kind: the write needs it
                client.replace({"apiVersion": "v1", "kind": "Secret", **secret})
            except (Conflict, NotFound):  # changed or gone meanwhile: written anew anyway
                continue
            rewritten += 1
            log.debug("re-encrypted Secret %s/%s", meta["namespace"], meta["name"])
        log.info("%s: %d Secret(s) written again, now encrypted", self.name, rewritten)

    def wait(self) -> None:
        """Written synchronously by deploy."""

    def destroy(self) -> None:
        """The keys go with the control-plane Secrets (kept first beside the kept
        snapshots: kube/kept_backups.py), the data with etcd."""

    def wait_cleanup(self) -> None:
        """Nothing of its own."""
