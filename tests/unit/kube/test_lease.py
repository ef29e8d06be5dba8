"""The operation Lease on a fake clock and an in-memory API that keeps resourceVersions."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import pytest
import urllib3

from airflow_provider_garden.kube import lease
from airflow_provider_garden.kube.errors import Conflict, NotFound, Unavailable

NS, NAME = "garden-p", "s.operation"
TIMING = lease.Timing()  # 40 s lease, renew every 5 s, give up after 20 s


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class FakeApi:
    """One Lease in memory; replace fails with 409 on a stale resourceVersion."""

    def __init__(self) -> None:
        self.obj: dict[str, Any] | None = None
        self.version = 0
        self.down = False  # every request fails, as a paused network would

    def _check(self) -> None:
        if self.down:
            raise Unavailable({"code": 503, "message": "no route"})

    def find(self, api_version: str, kind: str, name: str, namespace: str) -> Any:
        self._check()
        return copy.deepcopy(self.obj)

    def create(self, manifest: dict[str, Any]) -> Any:
        self._check()
        if self.obj is not None:
            raise Conflict({"code": 409, "message": "exists"})
        return self._store(manifest)

    def replace(self, manifest: dict[str, Any]) -> Any:
        self._check()
        if self.obj is None:
            raise NotFound({"code": 404, "message": "gone"})
        if manifest["metadata"].get("resourceVersion") != self.obj["metadata"]["resourceVersion"]:
            raise Conflict({"code": 409, "message": "stale"})
        return self._store(manifest)

    def _store(self, manifest: dict[str, Any]) -> Any:
        self.version += 1
        self.obj = copy.deepcopy(manifest)
        self.obj["metadata"]["resourceVersion"] = str(self.version)
        return copy.deepcopy(self.obj)

    @property
    def holder(self) -> Any:
        return (self.obj or {}).get("spec", {}).get("holderIdentity")


def make(api: FakeApi, clock: Clock, holder: str) -> lease.OperationLease:
    stamps = iter(range(10**6))
    return lease.OperationLease(
        api,  # type: ignore[arg-type]
        namespace=NS,
        name=NAME,
        holder=holder,
        timing=TIMING,
        clock=clock,
        wall=lambda: f"stamp-{next(stamps)}",  # a wall clock nobody may compare
    )


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def a(api: FakeApi, clock: Clock) -> lease.OperationLease:
    """Holder "a", which has taken the free lease."""
    holder = make(api, clock, "a")
    holder.try_acquire()
    return holder


@pytest.fixture
def b(api: FakeApi, clock: Clock) -> lease.OperationLease:
    """Contender "b", which has not looked yet."""
    return make(api, clock, "b")


def test_acquire_free_lease_then_a_second_holder_is_refused(
    api: FakeApi, a: lease.OperationLease, b: lease.OperationLease
) -> None:
    assert api.holder == "a"
    assert api.obj is not None
    assert api.obj["spec"]["leaseDurationSeconds"] == 40
    with pytest.raises(lease.LeaseHeld, match="held by a"):
        b.try_acquire()


def test_renewal_keeps_a_contender_out_however_long_it_waits(
    api: FakeApi, clock: Clock, a: lease.OperationLease, b: lease.OperationLease
) -> None:
    for _ in range(40):  # 200 s of renewals every 5 s: five lease durations
        clock.sleep(TIMING.renew_every)
        a.renew()
        with pytest.raises(lease.LeaseHeld):
            b.try_acquire()
    assert api.holder == "a"


def test_expiry_is_judged_from_when_the_contender_saw_the_renewal_not_from_renew_time(
    api: FakeApi, clock: Clock, a: lease.OperationLease, b: lease.OperationLease
) -> None:
    clock.sleep(300)  # the holder died long ago: a clock comparison would take over now
    with pytest.raises(lease.LeaseHeld, match="unchanged for 0s of 40s"):
        b.try_acquire()
    clock.sleep(39.9)
    with pytest.raises(lease.LeaseHeld):
        b.try_acquire()
    clock.sleep(0.1)
    b.try_acquire()  # a full duration of seeing no change
    assert api.holder == "b"
    assert api.obj is not None
    assert api.obj["spec"]["leaseTransitions"] == 1


def test_a_renewal_seen_restarts_the_contenders_count(
    api: FakeApi, clock: Clock, a: lease.OperationLease, b: lease.OperationLease
) -> None:
    with pytest.raises(lease.LeaseHeld):
        b.try_acquire()
    clock.sleep(35)
    a.renew()
    clock.sleep(10)  # 45 s since b first looked, but only 10 s since the renewal
    with pytest.raises(lease.LeaseHeld, match="unchanged for 0s"):
        b.try_acquire()
    clock.sleep(40)
    b.try_acquire()
    assert api.holder == "b"


def test_two_contenders_after_expiry_cannot_both_win(api: FakeApi, clock: Clock) -> None:
    a, b, c = make(api, clock, "a"), make(api, clock, "b"), make(api, clock, "c")
    a.try_acquire()
    for contender in (b, c):
        with pytest.raises(lease.LeaseHeld):
            contender.try_acquire()
    clock.sleep(40)
    stale = api.find("", "", "", "")
    b.try_acquire()
    # c read the lease before b wrote it: its write carries the old resourceVersion.
    api_find = api.find
    api.find = lambda *args: stale  # type: ignore[method-assign]
    with pytest.raises(lease.LeaseHeld, match="taken by another holder"):
        c.try_acquire()
    api.find = api_find  # type: ignore[method-assign]
    assert api.holder == "b"


def test_the_old_holder_learns_it_was_taken_over(
    clock: Clock, a: lease.OperationLease, b: lease.OperationLease
) -> None:
    with pytest.raises(lease.LeaseHeld):
        b.try_acquire()
    clock.sleep(40)
    b.try_acquire()
    with pytest.raises(lease.LeaseLost, match="taken over by b"):
        a.renew()


def test_failed_renewals_abort_after_several_tries_and_before_anyone_may_take_over(
    api: FakeApi, clock: Clock, a: lease.OperationLease, b: lease.OperationLease
) -> None:
    with pytest.raises(lease.LeaseHeld):
        b.try_acquire()  # b saw the lease as a wrote it
    lost: list[tuple[float, str]] = []
    keeper = lease.Keeper(a, lambda why: lost.append((clock(), why)))
    api.down = True
    tries = 0
    while not lost:
        assert tries < 100, "the holder never gave up"
        clock.sleep(TIMING.renew_every)
        tries += 1
        keeper.renew_tick()
    assert tries >= 3, "the holder gave up before trying several times"
    [(at, why)] = lost
    assert "not renewed for 20.0s" in why
    api.down = False
    while True:  # b keeps looking: it may take over only after a full duration
        try:
            b.try_acquire()
            break
        except lease.LeaseHeld:
            clock.sleep(TIMING.retry_every)
    assert at <= clock() - (TIMING.duration - TIMING.give_up_after)


def test_a_renewal_stuck_in_the_network_is_caught_by_the_watchdog(
    clock: Clock, a: lease.OperationLease
) -> None:
    lost: list[str] = []
    keeper = lease.Keeper(a, lost.append)
    clock.sleep(19)
    assert keeper.watch_tick()
    assert not lost
    clock.sleep(1)  # the renewer thread is still blocked: only the clock moved
    assert not keeper.watch_tick()
    assert len(lost) == 1
    assert "lost by a" in lost[0]
    keeper.watch_tick()
    assert len(lost) == 1, "on_lost is called once"


def test_a_takeover_seen_by_the_renewer_aborts_at_once(
    api: FakeApi, a: lease.OperationLease
) -> None:
    assert api.obj is not None
    api._store({**api.obj, "spec": {**api.obj["spec"], "holderIdentity": "intruder"}})
    lost: list[str] = []
    assert not lease.Keeper(a, lost.append).renew_tick()
    assert lost
    assert "taken over by intruder" in lost[0]


def test_renewal_survives_someone_else_touching_the_object(
    api: FakeApi, a: lease.OperationLease
) -> None:
    assert api.obj is not None
    api._store({**api.obj, "metadata": {**api.obj["metadata"], "labels": {"x": "y"}}})
    a.renew()
    assert api.holder == "a"


def test_release_frees_the_lease_for_the_next_holder_at_once(
    api: FakeApi, a: lease.OperationLease, b: lease.OperationLease
) -> None:
    assert a.release()
    assert api.holder is None
    b.try_acquire()
    assert api.holder == "b"


def test_release_after_a_takeover_logs_and_does_not_fail(
    api: FakeApi,
    clock: Clock,
    a: lease.OperationLease,
    b: lease.OperationLease,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(lease.LeaseHeld):
        b.try_acquire()
    clock.sleep(40)
    b.try_acquire()
    assert not a.release()
    assert api.holder == "b", "the old holder released the new holder's lease"
    assert "no longer ours (held by b)" in caplog.text


def test_release_when_the_api_is_unreachable_does_not_fail(
    api: FakeApi, a: lease.OperationLease, caplog: pytest.LogCaptureFixture
) -> None:
    api.down = True
    assert not a.release()
    assert "could not be released" in caplog.text


def test_acquire_waits_for_a_dead_holders_lease_to_expire(api: FakeApi, clock: Clock) -> None:
    make(api, clock, "dead").try_acquire()
    b = make(api, clock, "b")
    start = clock()
    b.acquire(wait=60, sleep=clock.sleep)
    assert api.holder == "b"
    assert clock() - start >= TIMING.duration


def test_acquire_gives_up_after_its_wait(api: FakeApi, clock: Clock) -> None:
    make(api, clock, "a").try_acquire()
    with pytest.raises(lease.LeaseHeld, match="gave up after waiting 10s"):
        make(api, clock, "b").acquire(wait=10, sleep=clock.sleep)


def test_holders_are_unique_and_fit_even_from_long_names_that_share_a_prefix() -> None:
    long_a = "x" * 200 + "a"
    long_b = "x" * 200 + "b"
    holders = {lease.unique_holder(n) for n in (long_a, long_a, long_b, "pod", "pod")}
    assert len(holders) == 5
    assert all(len(h) <= lease.MAX_HOLDER for h in holders)
    cut_a = {h.rsplit("_", 1)[0] for h in holders if h.startswith("x")}
    assert len(cut_a) == 2, "two long names collapsed to one"


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        ({"renew_every": 5.0, "attempt_timeout": 5.0}, "attempt_timeout"),
        ({"renew_every": 10.0, "attempt_timeout": 4.0, "give_up_after": 20.0}, "3 renewal"),
        ({"duration": 30, "give_up_after": 20.0}, "half the duration"),
    ],
)
def test_timing_that_would_not_stop_the_holder_first_is_refused(
    fields: dict[str, Any], rule: str
) -> None:
    with pytest.raises(ValueError, match=rule):
        lease.Timing(**fields)


def test_scaled_timing_keeps_the_proportions() -> None:
    t = lease.Timing.scaled(8)
    assert (t.renew_every, t.attempt_timeout, t.give_up_after) == (1.0, 0.8, 4.0)


SHORT = lease.Timing(duration=2, renew_every=0.1, attempt_timeout=0.05, give_up_after=0.5)


def until(what: str, probe: Callable[[], bool]) -> None:
    """Wait for the keeper's threads (real time, bounded so a broken keeper fails)."""
    deadline = time.monotonic() + 10
    while not probe():
        assert time.monotonic() < deadline, f"no {what} within 10s"
        time.sleep(0.01)


def test_held_keeps_the_lease_in_background_threads_and_releases_it(api: FakeApi) -> None:
    with lease.held(api, namespace=NS, name=NAME, holder="pod", timing=SHORT) as held:  # type: ignore[arg-type]
        assert held.holder.startswith("pod_")
        first = api.version
        until("three renewals", lambda: api.version >= first + 3)
    assert api.holder is None, "not released"


def test_held_calls_on_lost_from_its_threads_when_renewals_fail_and_does_not_release(
    api: FakeApi,
) -> None:
    lost: list[str] = []
    with lease.held(
        api, namespace=NS, name=NAME, holder="pod", timing=SHORT, on_lost=lost.append
    ) as held:  # type: ignore[arg-type]
        api.down = True
        until("call of on_lost", lambda: bool(lost))
        api.down = False
    assert len(lost) == 1
    assert "not renewed for" in lost[0]
    assert api.holder == held.holder, "a lost lease was released as if it were still ours"


def _unreachable_client() -> Any:
    """A real KubeClient whose every request is refused at once (nothing listens on port 9)."""
    from kubernetes import client as k8s_client

    from airflow_provider_garden.kube.client import Backoff, KubeClient

    configuration = k8s_client.Configuration()
    configuration.host = "http://127.0.0.1:9"
    return KubeClient(
        api_client=k8s_client.ApiClient(configuration), backoff=Backoff(attempts=1), timeout=2
    )


def test_a_guarded_client_sends_nothing_once_the_lease_is_lost() -> None:
    kube = _unreachable_client()
    stop = lease.StopWork()
    guarded = stop.guard(kube)
    with pytest.raises(urllib3.exceptions.HTTPError):  # sent: the refused connection says so
        guarded.list("v1", "Node")
    stop("lease garden-p/s.operation lost by care_1: taken over by rollout_2")
    with pytest.raises(lease.LeaseLost, match="taken over by rollout_2"):
        guarded.list("v1", "Node")
    with pytest.raises(urllib3.exceptions.HTTPError):  # the original is untouched
        kube.list("v1", "Node")


def test_stop_work_ends_the_shoots_work_not_the_process() -> None:
    """held() with StopWork: renewals fail, the work's next request raises LeaseLost,
    and this (test) process goes on; the lost lease is not released."""
    api = FakeApi()
    stop = lease.StopWork()
    work = stop.guard(_unreachable_client())
    with lease.held(
        api, namespace=NS, name=NAME, holder="care", timing=SHORT, on_lost=stop
    ) as held:  # type: ignore[arg-type]
        api.down = True
        until("the loss", lambda: stop.lost)
        with pytest.raises(lease.LeaseLost, match="not renewed for"):
            work.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "m"}})
        api.down = False
    assert api.holder == held.holder, "a lost lease was released as if it were still ours"


def test_the_holder_is_named_after_a_loss_even_through_a_guarded_client() -> None:
    api = FakeApi()
    make(api, Clock(), "rollout_2").try_acquire()
    assert lease.holder_of(api, namespace=NS, name=NAME) == "rollout_2"  # type: ignore[arg-type]
    api.down = True
    assert lease.holder_of(api, namespace=NS, name=NAME).startswith("unknown (Unavailable")  # type: ignore[arg-type]
    stop = lease.StopWork()
    guarded = stop.guard(_unreachable_client())
    stop("lost")
    asked = lease.holder_of(guarded, namespace=NS, name=NAME)
    assert asked.startswith("unknown (")
    assert "LeaseLost" not in asked  # the request was sent: the guard does not apply
