"""How big etcd's volumes are, and whether a local snapshot store has room for one more.

One place sizes both volumes, so they agree:

* etcd's data volume (:data:`ETCD_VOLUME`) holds the database up to its quota
  (``--quota-backend-bytes``) **a quarter of the volume**: a restore writes the
  restored database beside the live one while the previous restore's ``data.old`` is
  still there (three copies), a defragmentation writes a copy too, and the last quarter
  holds the write-ahead log (64 MiB segments) and etcd's own snapshot files.
* The local store's volume defaults to **three times the quota**: two snapshots of a
  database at its quota must always fit (the newest good one, which retention never
  deletes, and the one being written), the third keeps one older snapshot. Snapshots
  are gzipped and a typical database is far below its quota, so it holds many more.
  ``spec.backup.store.volumeSize`` resizes it; less than two snapshots at the quota
  (:func:`min_store_bytes`) is refused.

Before a backup the store must have room for the snapshot: the database size etcd
reports, plus headroom (:func:`needed_bytes`), uncompressed (gzip only shrinks it).
A local-path volume does not enforce its claim's size, so the claim's size is the
store's budget: free is the lesser of what the claim leaves and what the disk has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .error_codes import Cause, KnownCause

MIB = 1 << 20
GIB = 1 << 30
SIZE_PATTERN = "^[1-9][0-9]{0,5}(Mi|Gi)$"
SIZE_RULE = "must be a whole number of Mi or Gi (e.g. 768Mi, 2Gi)"
ETCD_VOLUME = "1Gi"
QUOTA_SHARE = 4  # the database may fill a quarter of its volume (see above)
STORE_QUOTAS = 3  # the default store holds three snapshots at the quota
MIN_STORE_QUOTAS = 2  # the newest good one and the new one
# Beside the snapshot: its manifest, and the gap between etcd's reported size and the file.
HEADROOM_SHARE = 10  # +10 %
HEADROOM_FIXED = 16 * MIB
_UNITS = {"Mi": MIB, "Gi": GIB}


def parse_size(text: str) -> int:
    """Bytes of a size like ``768Mi`` or ``2Gi`` (binary units only: volumes are sized so)."""
    if not re.fullmatch(SIZE_PATTERN, text):
        raise ValueError(f"{text!r} {SIZE_RULE}")
    return int(text[:-2]) * _UNITS[text[-2:]]


_QUANTITY = re.compile(r"([0-9]+)(Ki|Mi|Gi|Ti|k|M|G|T)?")
_QUANTITY_UNITS: dict[str | None, int] = {
    None: 1,
    **{u: 1 << (10 * (i + 1)) for i, u in enumerate(("Ki", "Mi", "Gi", "Ti"))},
    **{u: 1000 ** (i + 1) for i, u in enumerate(("k", "M", "G", "T"))},
}


def parse_quantity(text: str) -> int:
    """Bytes of a claim's whole-number Kubernetes quantity (``5Gi``, ``1G``, ``1073741824``)."""
    match = _QUANTITY.fullmatch(text)
    if not match:
        raise ValueError(f"{text!r} is not a whole-number storage quantity like 5Gi")
    number: str = match[1]
    unit: str | None = match[2]
    return int(number) * _QUANTITY_UNITS[unit]


def format_size(size: int) -> str:
    """Exact ``Gi``/``Mi`` for a volume size, else MiB with one decimal (for messages)."""
    if size % GIB == 0 and size:
        return f"{size // GIB}Gi"
    if size % MIB == 0:
        return f"{size // MIB}Mi"
    return f"{size / MIB:.1f} MiB"


def etcd_quota(etcd_volume: int) -> int:
    """``--quota-backend-bytes`` for a data volume of ``etcd_volume`` bytes."""
    return etcd_volume // QUOTA_SHARE


def default_store_bytes(etcd_volume: int) -> int:
    return STORE_QUOTAS * etcd_quota(etcd_volume)


def min_store_bytes(etcd_volume: int) -> int:
    return MIN_STORE_QUOTAS * etcd_quota(etcd_volume)


def needed_bytes(db_size: int) -> int:
    """Room one snapshot of a database of ``db_size`` bytes needs in the store."""
    if db_size < 0:
        raise ValueError(f"a database size cannot be negative, got {db_size}")
    return db_size + db_size // HEADROOM_SHARE + HEADROOM_FIXED


@dataclass(frozen=True, kw_only=True)
class StoreSpace:
    """What a local store holds and may still take.

    :param capacity: the volume's size (its claim's), the store's budget.
    :param used: bytes of every file in the volume (snapshots, manifests, temporaries).
    :param disk_free: what the filesystem under the volume still has for this process.
    """

    capacity: int
    used: int
    disk_free: int

    @property
    def free(self) -> int:
        return max(0, min(self.capacity - self.used, self.disk_free))


def room_problem(store: str, space: StoreSpace, *, db_size: int) -> KnownCause | None:
    """None when a snapshot of ``db_size`` fits; else the failure, naming store and sizes."""
    needed = needed_bytes(db_size)
    if space.free >= needed:
        return None
    disk = (
        f", the disk under it {format_size(space.disk_free)}"
        if space.disk_free < space.capacity - space.used
        else ""
    )
    return KnownCause(
        Cause.SNAPSTORE_FULL,
        f"snapshot store {store} has no room for the next snapshot after retention: "
        f"needs {format_size(needed)} (etcd database {format_size(db_size)} + headroom), "
        f"free {format_size(space.free)} ({format_size(space.used)} of "
        f"{format_size(space.capacity)} used{disk}); raise spec.backup.store.volumeSize "
        "or shorten the retention",
    )
