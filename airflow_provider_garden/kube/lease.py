"""A Kubernetes Lease as a per-shoot operation lock that holds.

Operations that write a shoot's spec or control plane (reconcile, delete, restore,
rollout) must never run at once (REQUIREMENTS 2). The lock lives in the API server,
so it holds across pods and retries. Three rules make it a lock rather than a hint:

* **Expiry by observation.** A contender never compares the holder's ``renewTime``
  (another host's clock) with its own: it records on its own monotonic clock when
  it first saw the current (holder, renewTime), and takes over only once that has
  stayed unchanged for the full ``leaseDurationSeconds`` (client-go's rule).
* **The holder stops first.** Renewals are tried every ``renew_every`` seconds, each
  bounded by ``attempt_timeout``; when none succeeded for ``give_up_after`` (well
  inside the duration) the holder calls ``on_lost``, which in a pod ends the process
  at once (:func:`abort_process`): no thread writes anything after that. A contender
  that saw our last renewal waits at least a full duration, so the holder has
  stopped ``duration - give_up_after`` seconds before anyone else can start.
* **Unique holders.** Every holding process gets its own identity (its name plus a
  random suffix, hashed to fit 128 characters), so a restarted pod or a second
  process on one host is a contender like any other.

Writes carry the object's resourceVersion, so two contenders cannot both win.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from airflow_provider_garden.kube.client import Backoff, KubeClient, Manifest
from airflow_provider_garden.kube.errors import ApiError, Conflict, NotFound

log = logging.getLogger(__name__)

API_VERSION = "coordination.k8s.io/v1"
MAX_HOLDER = 128  # the API's limit on holderIdentity
# Seconds an operation waits for another one on the same shoot (a reconcile takes
# minutes); longer than a lease, so a dead holder's lease is taken over meanwhile.
OPERATION_WAIT = 600.0
# Exit status of a process that lost its lease (EX_TEMPFAIL: a retry may succeed).
LEASE_LOST_EXIT = 75


class LeaseHeld(RuntimeError):
    """Another holder has the lease (and it has not been seen to expire)."""


class LeaseLost(RuntimeError):
    """The lease is no longer ours: taken over, deleted, or not renewed in time."""


@dataclass(frozen=True, kw_only=True)
class Timing:
    """How long a lease lasts and how its holder keeps it, in seconds.

    The defaults (40 s lease, a try every 5 s of at most 4 s, give up after 20 s)
    leave four tries before the holder stops, and 20 s between its stop and the
    earliest takeover.
    """

    duration: int = 40  # leaseDurationSeconds: the API takes whole seconds
    renew_every: float = 5.0
    attempt_timeout: float = 4.0
    give_up_after: float = 20.0
    retry_every: float = 2.0  # how often a waiting contender looks again

    def __post_init__(self) -> None:
        if self.attempt_timeout >= self.renew_every:
            raise ValueError("Timing.attempt_timeout: must be shorter than renew_every")
        if self.give_up_after < 3 * self.renew_every:
            raise ValueError("Timing.give_up_after: must leave at least 3 renewal tries")
        if self.give_up_after > self.duration / 2:
            raise ValueError("Timing.give_up_after: must be at most half the duration")

    @classmethod
    def scaled(cls, duration: int) -> Timing:
        """The defaults' proportions for another duration (tests use short leases)."""
        return cls(
            duration=duration,
            renew_every=duration / 8,
            attempt_timeout=duration / 10,
            give_up_after=duration / 2,
            retry_every=duration / 20,
        )


def unique_holder(base: str) -> str:
    """``base`` plus a random suffix; a long base is cut and hashed so that it fits."""
    suffix = secrets.token_hex(8)
    if len(base) + 1 + len(suffix) <= MAX_HOLDER:
        return f"{base}_{suffix}"
    digest = hashlib.sha256(base.encode()).hexdigest()[:16]
    keep = MAX_HOLDER - len(digest) - len(suffix) - 2
    return f"{base[:keep]}~{digest}_{suffix}"


def abort_process(message: str) -> None:
    """What a pod does when its lease is lost: say why, then end every thread at once."""
    log.critical("%s; stopping the operation now (exit %d)", message, LEASE_LOST_EXIT)
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stderr.flush()
    os._exit(LEASE_LOST_EXIT)  # no finally, no further write of any thread


class StopWork:
    """``on_lost`` for a process that works on many shoots (care heals each under its own
    Lease): losing one shoot's lease stops that shoot's work, not the process.

    The loss is remembered; every request of a client made by :meth:`guard` then raises
    :class:`LeaseLost` before it is sent, so no write of that shoot's work starts after
    the loss (one already sent finishes or times out), and the work unwinds through its
    own exception handling. ``kube`` (unguarded) is kept to name the holder afterwards.
    """

    def __init__(self) -> None:
        self._lost = threading.Event()
        self.why = ""

    def __call__(self, message: str) -> None:
        self.why = message
        self._lost.set()
        log.error("%s; stopping this shoot's operation (the process goes on)", message)

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    def check(self) -> None:
        if self._lost.is_set():
            raise LeaseLost(self.why)

    def guard(self, kube: KubeClient) -> KubeClient:
        """A copy of ``kube`` (same connection) whose requests stop once the lease is lost."""
        guarded = copy.copy(kube)
        guarded.before_request = self.check
        return guarded


def holder_of(kube: KubeClient, *, namespace: str, name: str) -> str:
    """Who holds the lease now, for messages (read unguarded); never raises."""
    reader = copy.copy(kube)
    reader.before_request = None
    try:
        current = reader.find(API_VERSION, "Lease", name, namespace)
    except Exception as err:  # a message part: the caller reports the loss regardless
        return f"unknown ({type(err).__name__}: {err})"[:200]
    return str(_spec(current).get("holderIdentity") or "nobody")


def _wall() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _spec(obj: Manifest | None) -> dict[str, Any]:
    return dict((obj or {}).get("spec") or {})


class OperationLease:
    """One process's view of one Lease: acquire, renew, release, one request each.

    ``clock`` is a monotonic clock (seconds); ``wall`` only stamps renewTime for
    humans, nothing here reads it back.
    """

    def __init__(
        self,
        kube: KubeClient,
        *,
        namespace: str,
        name: str,
        holder: str,
        timing: Timing = Timing(),
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], str] = _wall,
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.name = name
        self.holder = holder
        self.timing = timing
        self._clock = clock
        self._wall = wall
        self._seen: tuple[tuple[Any, ...], float] | None = None  # record, first seen at
        self._ours: Manifest | None = None  # the object as our last write left it
        self.renewed_at: float | None = None  # when our last successful write was sent
        self._renewer: KubeClient | None = None

    def __str__(self) -> str:
        return f"lease {self.namespace}/{self.name}"

    # --- contending ---------------------------------------------------------------------
    def try_acquire(self) -> None:
        """One attempt: take the lease if it is free, ours or seen to expire; else LeaseHeld."""
        sent = self._clock()
        current = self.kube.find(API_VERSION, "Lease", self.name, self.namespace)
        if current is None:
            try:
                created = self.kube.create(self._manifest(transitions=0))
            except Conflict:
                raise LeaseHeld(f"{self} was created by another holder just now") from None
            self._won(created, sent)
            return
        held = _spec(current)
        other = held.get("holderIdentity") or None
        if other not in (None, self.holder):
            unchanged = self.unchanged_for(current)
            duration = float(held.get("leaseDurationSeconds") or self.timing.duration)
            if unchanged < duration:
                raise LeaseHeld(
                    f"{self} is held by {other} (its renewals seen unchanged for "
                    f"{unchanged:.0f}s of {duration:.0f}s)"
                )
            log.warning("%s: taking over from %s, not renewed for %.0fs", self, other, unchanged)
        transitions = int(held.get("leaseTransitions") or 0) + (other != self.holder)
        wanted = self._manifest(transitions=transitions)
        wanted["metadata"] = current["metadata"]  # carries resourceVersion
        if other == self.holder:
            wanted["spec"]["acquireTime"] = held.get("acquireTime")
        try:
            replaced = self.kube.replace(wanted)
        except Conflict:
            raise LeaseHeld(f"{self} was taken by another holder just now") from None
        self._won(replaced, sent)

    def unchanged_for(self, current: Manifest) -> float:
        """Seconds on our clock since we first saw the lease's current holder and renewTime."""
        held = _spec(current)
        record = (held.get("holderIdentity"), held.get("renewTime"), held.get("leaseTransitions"))
        now = self._clock()
        if self._seen is None or self._seen[0] != record:
            self._seen = (record, now)
        return now - self._seen[1]

    def acquire(self, *, wait: float, sleep: Callable[[float], None] = time.sleep) -> None:
        """Take the lease, looking again every ``retry_every`` for up to ``wait`` seconds."""
        deadline = self._clock() + wait
        while True:
            try:
                self.try_acquire()
                log.info("%s acquired by %s", self, self.holder)
                return
            except LeaseHeld as err:
                if self._clock() >= deadline:
                    raise LeaseHeld(f"{err}; gave up after waiting {wait:.0f}s") from None
                log.info("waiting for the shoot's operation lease: %s", err)
            sleep(self.timing.retry_every)

    # --- holding ------------------------------------------------------------------------
    def renew(self) -> None:
        """One renewal, with its own short timeout; LeaseLost when it is no longer ours."""
        if self._ours is None:
            raise LeaseLost(f"{self} was never acquired by {self.holder}")
        sent = self._clock()
        if self._renewer is None:
            self._renewer = _quick(self.kube, self.timing.attempt_timeout)
        client = self._renewer
        wanted = {**self._ours, "spec": {**_spec(self._ours), "renewTime": self._wall()}}
        try:
            renewed = client.replace(wanted)
        except Conflict:
            current = client.find(API_VERSION, "Lease", self.name, self.namespace)
            holder = _spec(current).get("holderIdentity")
            if current is None or holder != self.holder:
                raise LeaseLost(f"{self} was taken over by {holder or 'nobody'}") from None
            self._ours = current  # someone else touched it (a label, say): still ours
            renewed = client.replace({**current, "spec": {**_spec(current), **wanted["spec"]}})
        except NotFound:
            raise LeaseLost(f"{self} was deleted") from None
        self._ours = renewed
        self.renewed_at = sent

    def unrenewed_for(self) -> float:
        """Seconds since our last successful write was sent (the conservative end)."""
        return self._clock() - (self.renewed_at if self.renewed_at is not None else 0.0)

    def release(self) -> bool:
        """Hand the lease back if it is still ours; a lease taken over meanwhile is logged.

        Never raises: the operation it guarded has finished, and an unreleased lease
        only makes the next holder wait out the duration.
        """
        try:
            current = self.kube.find(API_VERSION, "Lease", self.name, self.namespace)
            holder = _spec(current).get("holderIdentity")
            if current is None or holder != self.holder:
                log.warning(
                    "%s is no longer ours (held by %s): it expired or was taken over while the "
                    "operation finished; nothing to release",
                    self,
                    holder or "nobody",
                )
                return False
            spec = {**_spec(current), "holderIdentity": None, "renewTime": self._wall()}
            self.kube.replace({**current, "spec": spec})
        except (ApiError, OSError) as err:
            log.warning("%s could not be released (%s): it expires on its own", self, err)
            return False
        self._ours = None
        log.info("%s released by %s", self, self.holder)
        return True

    # --- helpers --------------------------------------------------------------------------
    def _manifest(self, *, transitions: int) -> Manifest:
        now = self._wall()
        return {
            "apiVersion": API_VERSION,
            "kind": "Lease",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": {
                "holderIdentity": self.holder,
                "leaseDurationSeconds": self.timing.duration,
                "acquireTime": now,
                "renewTime": now,
                "leaseTransitions": transitions,
            },
        }

    def _won(self, obj: Manifest, sent: float) -> None:
        self._ours = obj
        self.renewed_at = sent
        self._seen = None


def _quick(kube: KubeClient, timeout: float) -> KubeClient:
    """A client on the same credentials whose one attempt ends within ``timeout``."""
    if not hasattr(kube, "api"):  # a test double: it has no connection to copy
        return kube
    from kubernetes import client as k8s_client

    return KubeClient(
        api_client=k8s_client.ApiClient(kube.api.configuration),
        backoff=Backoff(attempts=1),
        timeout=timeout,
    )


class Keeper:
    """Keeps a held lease: renews it, and calls ``on_lost`` once when it is lost.

    Two loops run beside the operation: one renews; the other (the watchdog) only
    looks at the clock, so a renewal stuck in the network still ends the operation
    at ``give_up_after``. Both call :meth:`renew_tick` / :meth:`watch_tick`, which
    tests drive with a fake clock.
    """

    def __init__(self, lease: OperationLease, on_lost: Callable[[str], None]) -> None:
        self.lease = lease
        self._on_lost = on_lost
        self._lock = threading.Lock()
        self.lost: str | None = None
        self.stop = threading.Event()

    def lose(self, why: str) -> None:
        with self._lock:
            if self.lost is not None or self.stop.is_set():
                return
            self.lost = why
        self._on_lost(f"{self.lease} lost by {self.lease.holder}: {why}")

    def renew_tick(self) -> bool:
        """One renewal attempt; False once the lease is lost."""
        try:
            self.lease.renew()
        except LeaseLost as err:
            self.lose(str(err))
            return False
        except Exception as err:
            left = self.lease.timing.give_up_after - self.lease.unrenewed_for()
            log.warning("%s: renewal failed (%s); %.1fs left to renew", self.lease, err, left)
        return self.watch_tick()

    def watch_tick(self) -> bool:
        """False (and the lease lost) once no renewal succeeded for ``give_up_after``."""
        if self.lost is not None:
            return False
        unrenewed = self.lease.unrenewed_for()
        if unrenewed >= self.lease.timing.give_up_after:
            limit = self.lease.timing.give_up_after
            self.lose(f"not renewed for {unrenewed:.1f}s (the limit is {limit:.1f}s)")
            return False
        return True

    def run_renewals(self) -> None:
        while not self.stop.wait(self.lease.timing.renew_every) and self.renew_tick():
            pass

    def run_watchdog(self) -> None:
        step = min(1.0, self.lease.timing.give_up_after / 10)
        while not self.stop.wait(step) and self.watch_tick():
            pass


@contextmanager
def held(
    kube: KubeClient,
    *,
    namespace: str,
    name: str,
    holder: str,
    timing: Timing = Timing(),
    wait: float = 0.0,
    on_lost: Callable[[str], None] = abort_process,
) -> Iterator[OperationLease]:
    """Hold the lease for the block: take it (waiting up to ``wait`` s), keep it, release it.

    ``holder`` is a base name (a pod's name); the identity written is made unique.
    When the lease is lost, ``on_lost`` is called with a message: by default the
    process ends at once (:func:`abort_process`).
    """
    lease = OperationLease(
        kube, namespace=namespace, name=name, holder=unique_holder(holder), timing=timing
    )
    lease.acquire(wait=wait)
    keeper = Keeper(lease, on_lost)
    threads = [
        threading.Thread(target=keeper.run_renewals, name=f"lease-renew-{name}", daemon=True),
        threading.Thread(target=keeper.run_watchdog, name=f"lease-watch-{name}", daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        yield lease
    finally:
        keeper.stop.set()
        for thread in threads:
            thread.join(timeout=timing.attempt_timeout + 1)
        if keeper.lost is None:
            lease.release()
