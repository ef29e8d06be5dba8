"""The four methods every snapstore backend offers, and the rules its keys obey.

Keys are relative, ``/``-separated names such as ``Backup-1700000000/Full-...``. The
rules are strict on purpose: a key becomes a file path in the local backend, so
anything that could climb out of the store (absolute paths, ``..``, empty segments)
is rejected before it reaches a backend. A segment may not start with ``.``, which
also keeps the local backend's hidden temporary files out of every key space.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import BinaryIO, Protocol

MAX_KEY_LENGTH = 512
# Leaves room for the local backend's temporary name around a segment (NAME_MAX 255).
MAX_SEGMENT_LENGTH = 200
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*", re.ASCII)


class SnapStoreError(Exception):
    """A snapstore operation failed; the message names the store and the key."""


class InvalidKeyError(SnapStoreError, ValueError):
    """A key or prefix breaks the key rules (e.g. path traversal)."""


class ObjectNotFoundError(SnapStoreError, LookupError):
    """The key names no object."""


@dataclass(frozen=True, kw_only=True)
class ObjectInfo:
    key: str
    size: int
    modified: dt.datetime  # timezone-aware


class ReadableStream(Protocol):
    """What ``save`` consumes: ``read(n)`` until it returns ``b""``."""

    def read(self, size: int = -1, /) -> bytes: ...


class SnapStore(Protocol):
    def list(self, prefix: str = "") -> list[ObjectInfo]:
        """Objects whose key starts with ``prefix`` (a plain string prefix), sorted by key."""
        ...

    def fetch(self, key: str) -> BinaryIO:
        """An open stream of the object, to be used as a context manager.

        Raises :class:`ObjectNotFoundError` when there is no such object.
        """
        ...

    def save(self, key: str, stream: ReadableStream) -> ObjectInfo:
        """Store ``stream`` under ``key`` without holding it in memory.

        The object appears whole or not at all: a stream that raises, or a process
        killed midway, leaves no object under ``key`` (an existing one stays as it was).
        """
        ...

    def delete(self, key: str) -> None:
        """Remove the object; removing one that does not exist is not an error."""
        ...


def validate_key(key: str) -> str:
    """Return ``key`` unchanged if it obeys the key rules, else raise InvalidKeyError."""
    problem = _key_problem(key)
    if problem:
        raise InvalidKeyError(f"invalid snapstore key {_shorten(key)}: {problem}")
    return key


def validate_prefix(prefix: str) -> str:
    """A list prefix: empty, or a key, or a key followed by ``/``."""
    problem = _key_problem(prefix.removesuffix("/")) if prefix else None
    if problem:
        raise InvalidKeyError(f"invalid snapstore prefix {_shorten(prefix)}: {problem}")
    return prefix


def is_valid_key(key: str) -> bool:
    return _key_problem(key) is None


def _key_problem(key: str) -> str | None:
    if not key:
        return "it is empty"
    if len(key) > MAX_KEY_LENGTH:
        return f"it is longer than {MAX_KEY_LENGTH} characters"
    if key.startswith("/"):
        return "absolute paths are not allowed; keys are relative to the store"
    segments = key.split("/")
    if ".." in segments:
        return "'..' segments are not allowed (path traversal)"
    if "" in segments:
        return "empty segments ('//' or a trailing '/') are not allowed"
    for segment in segments:
        if len(segment) > MAX_SEGMENT_LENGTH:
            return f"segment {_shorten(segment)} is longer than {MAX_SEGMENT_LENGTH} characters"
        if not _SEGMENT.fullmatch(segment):
            return (
                f"segment {_shorten(segment)} must start with a letter or digit and contain "
                "only letters, digits, '.', '_' and '-'"
            )
    return None


def _shorten(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")
