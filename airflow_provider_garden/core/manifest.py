"""The one name for a Kubernetes object as plain data (what the API sends and takes)."""

from __future__ import annotations

from typing import Any, TypeAlias

#: A Kubernetes object or fragment as decoded JSON: apiVersion, kind, metadata, spec ...
Manifest: TypeAlias = dict[str, Any]
