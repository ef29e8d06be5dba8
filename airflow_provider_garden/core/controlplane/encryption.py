"""The shoot's etcd encryption keys: kube-apiserver's EncryptionConfiguration.

Secrets are written to etcd (and so into every snapshot) encrypted with the first
aescbc key; every key listed after it still decrypts, and ``identity`` (last) reads
what was written before encryption at rest. kube-apiserver picks the key that decrypts a
value by the name in its prefix (``k8s:enc:aescbc:v1:<name>:``) and does not try another
key of that name, so a key is named after itself (:func:`key_name`): a snapshot of a
deleted shoot, restored with ``from_uid``, carries its own key's name, never this
shoot's.

A teardown keeps the whole configuration (every key of it) beside the kept snapshots
(core/kept_backups.py); a restore of that UID's snapshot appends its keys after this
shoot's own (:func:`with_kept_keys`) and marks a rewrite of the Secrets as due
(:data:`REWRITE_ANNOTATION`), which the next reconcile does. Appended keys stay: own
snapshots taken before the rewrite still hold values written under them.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import yaml

ENCRYPTION_SECRET = "etcd-encryption"
ENCRYPTION_FILE = "config.yaml"
# On the control plane's ENCRYPTION_SECRET: a restore put values written under other keys
# into etcd (the value says whose snapshot); reconcile writes every Secret again, then
# drops the annotation.
REWRITE_ANNOTATION = "garden.airflow.io/rewrite-secrets"
KEY_BYTES = 32


class EncryptionConfigError(ValueError):
    """Not an EncryptionConfiguration this project wrote; says what is wrong."""


@dataclass(frozen=True)
class EncryptionKey:
    name: str
    secret: bytes

    def __post_init__(self) -> None:
        if len(self.secret) != KEY_BYTES:
            raise EncryptionConfigError(
                f"an AES-256 key has {KEY_BYTES} bytes, not {len(self.secret)}"
            )


def key_name(secret: bytes) -> str:
    """A name no other key has: from the key's own hash (not secret: a fingerprint)."""
    return "key-" + hashlib.sha256(secret).hexdigest()[:12]


def new_key(secret: bytes) -> EncryptionKey:
    return EncryptionKey(key_name(secret), secret)


def render(keys: Sequence[EncryptionKey]) -> bytes:
    """The configuration: ``keys[0]`` writes, every key reads, identity reads last."""
    if not keys:
        raise EncryptionConfigError("an encryption configuration needs at least one key")
    names = [k.name for k in keys]
    if len(set(names)) != len(names):
        raise EncryptionConfigError(f"key names must differ: {names}")
    lines = [
        "apiVersion: apiserver.config.k8s.io/v1",
        "kind: EncryptionConfiguration",
        "resources:",
        "- resources: [secrets]",
        "  providers:",
        "  - aescbc:",
        "      keys:",
    ]
    for k in keys:
        lines += [
            f"      - name: {k.name}",
            f"        secret: {base64.b64encode(k.secret).decode()}",
        ]
    lines.append("  - identity: {}")
    return ("\n".join(lines) + "\n").encode()


def read_keys(config: bytes) -> list[EncryptionKey]:
    """The aescbc keys of a configuration, the writing one first."""
    try:
        doc = yaml.safe_load(config)
        [resource] = doc["resources"]
        providers = resource["providers"]
        if providers[-1] != {"identity": {}}:
            raise EncryptionConfigError("identity must be the last provider")
        return [
            EncryptionKey(str(k["name"]), base64.b64decode(k["secret"], validate=True))
            for k in providers[0]["aescbc"]["keys"]
        ]
    except EncryptionConfigError:
        raise
    except (yaml.YAMLError, KeyError, IndexError, TypeError, ValueError) as err:
        raise EncryptionConfigError(f"not an encryption configuration: {err!r}") from None


def with_kept_keys(config: bytes, kept: bytes) -> bytes:
    """``config`` with every key of ``kept`` (a deleted shoot's configuration) appended
    after its own, which keep their order (the first still writes); a key already there
    is not added twice. Two different keys of one name are refused: kube-apiserver could
    read values of only one of them."""
    own = read_keys(config)
    have = {k.name: k for k in own}
    for k in read_keys(kept):
        if have.setdefault(k.name, k) != k:
            raise EncryptionConfigError(f"two different keys are named {k.name}")
    return render(list(have.values()))
