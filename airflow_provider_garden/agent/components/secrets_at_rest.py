"""The shoot's Secrets encrypted in its etcd (and so in every snapshot of it).

kube-apiserver encrypts what it writes from the run that gave it its key on
(core/controlplane/secrets.py, ``etcd-encryption``). Secrets written before, by a
shoot older than encryption at rest, stay in clear until written again: the run that
issues the key rewrites every Secret of the shoot, unchanged, through the new server.
"""

from __future__ import annotations

import logging

from airflow_provider_garden.agent.components.secrets import ControlPlaneSecrets, ShootAccess
from airflow_provider_garden.core.controlplane.encryption import ENCRYPTION_SECRET
from airflow_provider_garden.kube.errors import Conflict, NotFound

log = logging.getLogger(__name__)


class SecretsAtRest:
    name = "secrets encryption at rest"

    def __init__(self, shoot: ShootAccess, secrets: ControlPlaneSecrets) -> None:
        self.shoot = shoot
        self.secrets = secrets

    def deploy(self) -> None:
        if ENCRYPTION_SECRET not in self.secrets.issued:
            return  # the key is not new: everything was written encrypted already
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
        """The key goes with the control-plane Secrets, the data with etcd."""

    def wait_cleanup(self) -> None:
        """Nothing of its own."""
