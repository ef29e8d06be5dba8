"""The shoot's encryption keys: its own writes, a deleted shoot's kept keys read after it,
identity reads last (a snapshot from before encryption)."""

from __future__ import annotations

import base64

import pytest
import yaml

from airflow_provider_garden.core.controlplane.encryption import (
    EncryptionConfigError,
    EncryptionKey,
    key_name,
    new_key,
    read_keys,
    render,
    with_kept_keys,
)

OWN, OLD, OLDER = b"o" * 32, b"d" * 32, b"e" * 32
SHORT_KEY = (
    b"resources: [{providers: [{aescbc: {keys: [{name: k, secret: eHh4}]}}, {identity: {}}]}]"
)


def providers(config: bytes) -> list[dict[str, object]]:
    [resource] = yaml.safe_load(config)["resources"]
    assert resource["resources"] == ["secrets"]
    return resource["providers"]


def test_a_kept_key_reads_after_the_shoots_own_which_still_writes() -> None:
    config = with_kept_keys(render([new_key(OWN)]), render([new_key(OLD)]))
    aescbc, identity = providers(config)
    keys = aescbc["aescbc"]["keys"]  # type: ignore[index]
    assert [base64.b64decode(k["secret"]) for k in keys] == [OWN, OLD]  # own first: writes
    assert [k["name"] for k in keys] == [key_name(OWN), key_name(OLD)]
    assert identity == {"identity": {}}  # a snapshot from before encryption still reads


def test_every_key_of_a_kept_configuration_comes_along_once() -> None:
    # The deleted shoot had itself restored an older one: both its keys are needed.
    kept = render([new_key(OLD), new_key(OLDER)])
    once = with_kept_keys(render([new_key(OWN)]), kept)
    assert read_keys(once) == [new_key(OWN), new_key(OLD), new_key(OLDER)]
    assert with_kept_keys(once, kept) == once  # a second restore of that UID adds nothing


def test_keys_are_named_after_themselves_so_two_shoots_never_share_a_name() -> None:
    # kube-apiserver picks the key by the name in a value's prefix and tries no other key
    # of that name: a restored value must not carry this shoot's key's name.
    assert key_name(OWN) != key_name(OLD)
    assert key_name(OWN) == key_name(bytes(OWN))
    assert ":" not in key_name(OWN)


@pytest.mark.parametrize(
    ("config", "error"),
    [
        (b"kind: ConfigMap", "not an encryption configuration"),
        (render([new_key(OWN)]).replace(b"  - identity: {}\n", b""), "identity must be"),
        (SHORT_KEY, "32 bytes, not 3"),
    ],
    ids=["not-one", "no-identity", "short-key"],
)
def test_a_configuration_not_ours_is_refused(config: bytes, error: str) -> None:
    with pytest.raises(EncryptionConfigError, match=error):
        read_keys(config)


def test_names_must_differ_and_a_configuration_needs_a_key() -> None:
    with pytest.raises(EncryptionConfigError, match="names must differ"):
        render([EncryptionKey("k", OWN), EncryptionKey("k", OLD)])
    with pytest.raises(EncryptionConfigError, match="at least one key"):
        render([])


def test_two_different_keys_of_one_name_are_refused_not_dropped() -> None:
    # (As two shoots that both named their key "key1" would be.)
    ours, theirs = render([EncryptionKey("key1", OWN)]), render([EncryptionKey("key1", OLD)])
    with pytest.raises(EncryptionConfigError, match="two different keys are named key1"):
        with_kept_keys(ours, theirs)
