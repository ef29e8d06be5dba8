"""Example Shoot specs the unit tests share (the resource's camelCase shape)."""

from __future__ import annotations

from typing import Any

#: one local pool of 1..2 machines and a local backup store
LOCAL_SPEC: dict[str, Any] = {
    "kubernetes": {"version": "1.32.3"},
    "workers": [
        {
            "name": "pool-a",
            "machine": {"type": "local", "image": {"name": "gardenlinux", "version": "1592.2"}},
            "minimum": 1,
            "maximum": 2,
        }
    ],
    "backup": {"store": {"kind": "local"}},
}
