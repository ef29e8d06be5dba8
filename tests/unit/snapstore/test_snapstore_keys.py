from __future__ import annotations

import pytest

from airflow_provider_garden.snapstore.protocol import (
    InvalidKeyError,
    is_valid_key,
    validate_key,
    validate_prefix,
)

GOOD = [
    "Backup-1700000000/Full-00000001-00000042-1700000000",
    "Backup-1700000000/Full-00000001-00000042-1700000000.gz.manifest.json",
    "shoot--dev--alpha/Backup-1/x",
    "a",
    "A_b-c.d",
]


@pytest.mark.parametrize("key", GOOD)
def test_valid_keys_pass_unchanged(key: str) -> None:
    assert validate_key(key) == key
    assert is_valid_key(key)


@pytest.mark.parametrize(
    ("key", "rule"),
    [
        ("", "empty"),
        ("/etc/passwd", "absolute"),
        ("../secrets", "path traversal"),
        ("Backup-1/../../etc", "path traversal"),
        ("a/..", "path traversal"),
        ("a//b", "empty segments"),
        ("a/", "empty segments"),
        ("./a", "must start with a letter or digit"),
        (".hidden", "must start with a letter or digit"),
        ("a/.b.tmp", "must start with a letter or digit"),
        ("a\\..\\b", "must start with a letter or digit"),
        ("a b", "only letters, digits"),
        ("a\x00b", "only letters, digits"),
        ("é", "only letters, digits"),
        ("x" * 201, "longer than 200"),
        ("a/" * 300 + "a", "longer than 512"),
    ],
)
def test_invalid_keys_are_rejected_naming_the_rule(key: str, rule: str) -> None:
    with pytest.raises(InvalidKeyError, match=rule):
        validate_key(key)
    assert not is_valid_key(key)


def test_invalid_key_error_is_a_value_error_and_names_the_key() -> None:
    with pytest.raises(ValueError, match=r"invalid snapstore key '\.\./x'"):
        validate_key("../x")


@pytest.mark.parametrize("prefix", ["", "Backup-", "Backup-17/", "shoot--dev--a/Backup-1/Full"])
def test_prefixes_may_be_empty_partial_or_end_with_a_slash(prefix: str) -> None:
    assert validate_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["/", "../", "a//", "/abs", "a/../b/"])
def test_prefixes_follow_the_key_rules(prefix: str) -> None:
    with pytest.raises(InvalidKeyError, match="invalid snapstore prefix"):
        validate_prefix(prefix)
