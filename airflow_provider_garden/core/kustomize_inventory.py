"""The inventory: what one kustomize task applied to one target, and the prune plan.

Prune is computed only from the inventory (REQUIREMENTS: Flux deleted unmanaged
namespaces by selecting on labels): an object is deleted when the previous
inventory lists it and the current render no longer does. Objects the inventory
does not list are never candidates, whatever their labels. Namespaces, CRDs and
PersistentVolumes are kept unless their kind is explicitly allowed; a kept entry
stays in the inventory, so a later run that allows its kind can still prune it.

The inventory is stored in the target cluster as a ConfigMap
``garden-inventory-<id>``; entries carry the uid the object had when applied, so
a prune never deletes a same-named object someone else created since.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .kustomize_objects import CRD_KIND, NAMESPACE_KIND, ObjectRef, group_of, prune_order

INVENTORY_PREFIX = "garden-inventory-"
INVENTORY_KEY = "inventory.json"
INVENTORY_LABEL = "garden.airflow.io/inventory"
PROTECTED_KINDS = frozenset({NAMESPACE_KIND, CRD_KIND, "PersistentVolume"})
_FORMAT = 1
_ID = re.compile(r"[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?")  # also a label value: 63 at most


@dataclass(frozen=True, order=True, kw_only=True)
class Entry:
    ref: ObjectRef
    api_version: str
    uid: str = ""

    def as_list(self) -> list[str]:
        r = self.ref
        return [self.api_version, r.kind, r.namespace, r.name, self.uid]

    @classmethod
    def from_list(cls, item: list[str]) -> Entry:
        api_version, kind, namespace, name, uid = item
        return cls(
            ref=ObjectRef(group=group_of(api_version), kind=kind, namespace=namespace, name=name),
            api_version=api_version,
            uid=uid,
        )


def inventory_name(inventory_id: str) -> str:
    if not _ID.fullmatch(inventory_id):
        raise ValueError(
            f"inventory id {inventory_id!r} must be lowercase letters, digits, '-' or '.', "
            "start and end with a letter or digit, at most 63 characters"
        )
    return INVENTORY_PREFIX + inventory_id


def to_configmap(
    inventory_id: str, namespace: str, entries: Iterable[Entry], source: str
) -> dict[str, Any]:
    body = {"format": _FORMAT, "entries": [e.as_list() for e in sorted(set(entries))]}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": inventory_name(inventory_id),
            "namespace": namespace,
            "labels": {INVENTORY_LABEL: inventory_id},
            "annotations": {"garden.airflow.io/source": source[:250]},
        },
        "data": {INVENTORY_KEY: json.dumps(body, separators=(",", ":"))},
    }


def from_configmap(cm: Mapping[str, Any] | None) -> list[Entry]:
    """The entries of an inventory ConfigMap; none when it does not exist yet."""
    if cm is None:
        return []
    text = (cm.get("data") or {}).get(INVENTORY_KEY)
    if not text:
        return []
    body = json.loads(text)
    if body.get("format") != _FORMAT:
        raise ValueError(f"inventory format {body.get('format')!r} is not {_FORMAT}")
    return [Entry.from_list(item) for item in body["entries"]]


@dataclass(frozen=True, kw_only=True)
class PrunePlan:
    delete: tuple[Entry, ...]  # in deletion order
    kept: tuple[Entry, ...]  # no longer rendered, but of a protected kind


def plan_prune(
    previous: Iterable[Entry], current: Collection[ObjectRef], *, allow_kinds: Collection[str] = ()
) -> PrunePlan:
    gone = {e.ref: e for e in previous if e.ref not in current}
    order = prune_order(gone)
    delete = tuple(gone[r] for r in order if r.kind not in PROTECTED_KINDS or r.kind in allow_kinds)
    kept = tuple(gone[r] for r in order if gone[r] not in delete)
    return PrunePlan(delete=delete, kept=kept)


def merged(previous: Iterable[Entry], current: Iterable[Entry]) -> list[Entry]:
    """Previous entries plus the current ones (current wins, but keeps a known uid).

    Written before applying, so an object created by a run that then crashes is
    still known to the next run and can be pruned.
    """
    by_ref = {e.ref: e for e in previous}
    for e in current:
        known = by_ref.get(e.ref)
        uid = e.uid or (known.uid if known else "")
        by_ref[e.ref] = Entry(ref=e.ref, api_version=e.api_version, uid=uid)
    return sorted(by_ref.values())
