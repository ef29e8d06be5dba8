"""The operation Lease against the seed's API server: the holder stops before anyone takes over.

Timelines are on the host's monotonic clock, which every process on it shares; the
holder is ``holder.py`` (the agent's lease code in a process of its own), the
contender is this test, judging expiry by observation as the agent does.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import pytest
import yaml

from airflow_provider_garden.kube import lease
from airflow_provider_garden.kube.client import KubeClient
from benchmarks.api_count import CountingProxy

pytestmark = pytest.mark.integration
HOLDER = Path(__file__).with_name("holder.py")
DURATION = 8  # seconds: renewals every 1 s of at most 0.8 s, the holder gives up after 4 s
TIMING = lease.Timing.scaled(DURATION)
LEASE = "shoot.operation"


def timeline(path: Path) -> dict[str, list[float]]:
    events: dict[str, list[float]] = {}
    if not path.exists():  # the holder has not started yet
        return events
    for line in path.read_text().splitlines():
        what, at = line.split()
        events.setdefault(what, []).append(float(at))
    return events


def start_holder(kubeconfig: Path, namespace: str, path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            str(HOLDER),
            f"--kubeconfig={kubeconfig}",
            f"--namespace={namespace}",
            f"--name={LEASE}",
            f"--duration={DURATION}",
            f"--timeline={path}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(what: str, probe: Callable[[], bool], proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not probe():
        if proc.poll() is not None:
            pytest.fail(f"the holder ended (exit {proc.returncode}) before {what}: {proc.stderr}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within 60s")
        time.sleep(0.1)


def contender(seed: KubeClient, namespace: str) -> lease.OperationLease:
    return lease.OperationLease(
        seed, namespace=namespace, name=LEASE, holder="contender", timing=TIMING
    )


def contend(contender: lease.OperationLease) -> tuple[float, int]:
    """Take the lease as a second holder; (when it was taken, refusals before)."""
    refused = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            contender.try_acquire()
            return time.monotonic(), refused
        except lease.LeaseHeld:
            refused += 1
            time.sleep(0.1)
    pytest.fail("the contender never acquired the lease within 120s")


def test_blocked_renewals_stop_the_holder_before_another_holder_acquires(
    seed: KubeClient, seed_kubeconfig: Path, namespace: str, tmp_path: Path
) -> None:
    path = tmp_path / "holder.timeline"
    with CountingProxy(seed_kubeconfig.read_text()) as proxy:
        proxied = tmp_path / "proxied.kubeconfig"
        proxied.write_text(yaml.safe_dump(proxy.kubeconfig()))
        holder = start_holder(proxied, namespace, path)
        try:
            wait_for("renewal", lambda: len(timeline(path).get("renewing", [])) >= 2, holder)
            proxy.pause()
            paused = time.monotonic()
            taken, refused = contend(contender(seed, namespace))
            with suppress(subprocess.TimeoutExpired):  # judged by its timeline below
                holder.wait(timeout=10)
        finally:
            proxy.resume()
            if holder.poll() is None:
                holder.kill()
                holder.wait()
    stderr = holder.stderr.read() if holder.stderr else ""
    events = timeline(path)
    last_work = max(events["work"])
    assert refused > 0, "the contender was never refused: it did not contend with the holder"
    assert last_work > paused, "the holder did not work on while its renewals were blocked"
    assert last_work < taken, (
        f"the holder still worked {last_work - taken:.2f}s after the contender took the lease"
    )
    assert holder.returncode == lease.LEASE_LOST_EXIT, stderr
    assert "not renewed for" in stderr, stderr
    # How long the blocked holder worked on, and the margin before the takeover.
    print(
        f"abort {last_work - paused:.2f}s after the pause, {taken - last_work:.2f}s before takeover"
    )


def test_a_killed_holders_lease_is_taken_over_only_after_a_full_duration(
    seed: KubeClient, seed_kubeconfig: Path, namespace: str, tmp_path: Path
) -> None:
    path = tmp_path / "holder.timeline"
    holder = start_holder(seed_kubeconfig, namespace, path)
    try:
        wait_for("renewal", lambda: len(timeline(path).get("renewing", [])) >= 2, holder)
        second = contender(seed, namespace)
        with pytest.raises(lease.LeaseHeld):
            second.try_acquire()  # watching since before the kill, as a waiting agent would
        holder.send_signal(signal.SIGKILL)  # no release, no last word
        holder.wait(timeout=30)
        killed = time.monotonic()
        taken, refused = contend(second)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    last_renewal = max(timeline(path)["renewing"])
    assert refused > 0, "the lease was free at once after the kill"
    assert taken > killed
    assert taken - last_renewal >= DURATION, (
        f"taken over {taken - last_renewal:.2f}s after the last renewal was sent, "
        f"within the {DURATION}s lease"
    )
    print(f"taken over {taken - killed:.2f}s after the kill")
