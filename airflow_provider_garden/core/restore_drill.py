"""A restore drill's pure parts: counting a restored etcd's objects and judging it.

A drill restores the newest good snapshot of a shoot into a scratch etcd and asks
whether what came back is that snapshot and a Kubernetes cluster at all. The agent
(agent/etcd_drill.py) does the I/O; these functions take what it read and return
the verdict, every problem by name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

REGISTRY_PREFIX = "/registry/"
# Every Kubernetes cluster has namespaces (default, kube-system): none means the data
# is not a cluster's, whatever etcd says about its health.
REQUIRED_RESOURCE = "namespaces"


def resource_of(key: str) -> str | None:
    """The resource a kube-apiserver key stores, or None for a key outside /registry/.

    ``/registry/<resource>/...``; for an API group's resource the first segment is the
    group (it contains a dot: ``/registry/apps.example.com/widgets/...``), so the
    resource is ``<group>/<resource>``. These are kube-apiserver's storage names, not
    always the API's: nodes are ``minions``, and ``services`` holds both
    ``services/specs/...`` and ``services/endpoints/...``.
    """
    if not key.startswith(REGISTRY_PREFIX):
        return None
    parts = key[len(REGISTRY_PREFIX) :].split("/")
    if not parts[0]:
        return None
    if "." in parts[0] and len(parts) > 1 and parts[1]:
        return f"{parts[0]}/{parts[1]}"
    return parts[0]


def count_objects(keys: Iterable[str]) -> dict[str, int]:
    """How many keys each resource holds, by resource name (sorted)."""
    counts = Counter(r for r in map(resource_of, keys) if r is not None)
    return dict(sorted(counts.items()))


@dataclass(frozen=True, kw_only=True)
class DrillFindings:
    """What the drill read from the restored etcd, beside what the manifest promised."""

    snapshot: str
    manifest_revision: int  # the manifest's end revision
    served_revision: int  # what the scratch etcd reports serving
    objects: Mapping[str, int]  # count_objects of its keys

    @property
    def total(self) -> int:
        return sum(self.objects.values())


def judge(findings: DrillFindings) -> list[str]:
    """Every reason the restored data is not the snapshot's cluster; empty: it is."""
    problems = []
    if findings.served_revision != findings.manifest_revision:
        problems.append(
            f"the restored etcd serves revision {findings.served_revision}, the manifest of "
            f"{findings.snapshot} says {findings.manifest_revision}"
        )
    if findings.objects.get(REQUIRED_RESOURCE, 0) < 1:
        problems.append(
            f"no {REQUIRED_RESOURCE} in the restored data ({findings.total} objects): "
            "not a Kubernetes cluster"
        )
    return problems
