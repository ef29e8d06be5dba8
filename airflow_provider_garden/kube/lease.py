"""A Kubernetes Lease as a per-shoot operation lock.

Reconcile, restore and rollout of one shoot must never run at once (REQUIREMENTS
2). The lock lives in the API server, so it holds across Airflow workers and
retries: a holder that dies simply stops renewing, and the lease expires.
Writes use the object's resourceVersion, so two contenders cannot both win.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta

from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.errors import Conflict

API_VERSION = "coordination.k8s.io/v1"


class LeaseHeld(RuntimeError):
    """Another operation holds the lease."""


def _now() -> datetime:
    return datetime.now(UTC)


def _fmt(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _expired(spec: dict[str, object], now: datetime) -> bool:
    renewed = spec.get("renewTime")
    duration = spec.get("leaseDurationSeconds")
    if not isinstance(renewed, str) or not isinstance(duration, int):
        return True
    return _parse(renewed) + timedelta(seconds=duration) < now


def try_acquire(kube: KubeClient, *, namespace: str, name: str, holder: str, seconds: int) -> None:
    """Take the lease or raise LeaseHeld naming the current holder."""
    now = _now()
    spec = {
        "holderIdentity": holder,
        "leaseDurationSeconds": seconds,
        "acquireTime": _fmt(now),
        "renewTime": _fmt(now),
    }
    current = kube.find(API_VERSION, "Lease", name, namespace)
    try:
        if current is None:
            kube.create(
                {
                    "apiVersion": API_VERSION,
                    "kind": "Lease",
                    "metadata": {"name": name, "namespace": namespace},
                    "spec": spec,
                }
            )
            return
        held = current.get("spec") or {}
        if held.get("holderIdentity") not in (None, "", holder) and not _expired(held, now):
            raise LeaseHeld(
                f"lease {namespace}/{name} is held by {held['holderIdentity']} "
                f"(renewed {held.get('renewTime')}, for {held.get('leaseDurationSeconds')}s)"
            )
        if held.get("holderIdentity") == holder:
            spec["acquireTime"] = held.get("acquireTime", spec["acquireTime"])
        current["spec"] = spec
        kube.replace(current)  # carries resourceVersion: a concurrent taker gets 409
    except Conflict:
        raise LeaseHeld(f"lease {namespace}/{name} was taken concurrently") from None


def release(kube: KubeClient, *, namespace: str, name: str, holder: str) -> None:
    current = kube.find(API_VERSION, "Lease", name, namespace)
    if current is None or (current.get("spec") or {}).get("holderIdentity") != holder:
        return
    current["spec"] = {"holderIdentity": None, "leaseDurationSeconds": 1}
    with suppress(Conflict):  # someone took it over meanwhile: not ours to release
        kube.replace(current)


@contextmanager
def held(
    kube: KubeClient, *, namespace: str, name: str, holder: str, seconds: int = 60
) -> Iterator[None]:
    """Hold the lease for the duration of the block, renewing it in the background."""
    try_acquire(kube, namespace=namespace, name=name, holder=holder, seconds=seconds)
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(seconds / 3):
            try_acquire(kube, namespace=namespace, name=name, holder=holder, seconds=seconds)

    renewer = threading.Thread(target=renew, name=f"lease-{name}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join(timeout=5)
        release(kube, namespace=namespace, name=name, holder=holder)
