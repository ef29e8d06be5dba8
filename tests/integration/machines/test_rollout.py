"""Machine rollouts on the local seed: real shoots, kwok machines, the agent as a process."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from machines_helpers import (
    NEW,
    OLD,
    Observed,
    PoolSample,
    Shoot,
    agent_env,
    deploy_workload,
    is_ready,
    rollout,
    rollout_argv,
    running_replicas,
    version_of,
    wait_until,
    watching,
)
from sampling import SampleLedger

# Shoots of the one project `machines`, and `care --project machines` heals any of them:
# the machine modules share one lane (tests/lanes.py).
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900), pytest.mark.lane_group("machines")]


def test_pool_of_ten_rolls_within_its_fenceposts_and_budget(
    make_shoot: Callable[..., Shoot], seed_kubeconfig: Path
) -> None:
    shoot = make_shoot(machines=10)
    deploy_workload(shoot, replicas=20, min_available=18)
    shoot.set_version(NEW)
    with watching(shoot) as seen:
        run = rollout(seed_kubeconfig, shoot)
    # The watcher first: it saw the whole rollout, or the test says what it missed.
    assert seen.samples > 20, seen
    found = seen.problems(most_machines=12, fewest_available=10, fewest_running=18)
    assert not found, "\n".join([*found, str(seen)])
    result = run.result
    nodes = shoot.nodes()
    assert sorted(version_of(n) for n in nodes) == [NEW] * 10
    assert all(is_ready(n) and not n["spec"].get("unschedulable") for n in nodes)
    assert running_replicas(shoot.api) == 20
    assert (result["machinesCreated"], result["machinesDrained"]) == (10, 10)
    assert "10/10 machines on gardenlinux 1592.2" in run.stderr
    status = shoot.status()
    assert status["workers"]["pool-a"]["rollout"]["state"] == "Succeeded"
    assert status["workers"]["pool-a"]["versions"] == [{"version": NEW, "machines": 10}]
    assert status["lastOperation"]["state"] == "Succeeded"
    [nodes_ready] = [c for c in status["conditions"] if c["type"] == "EveryNodeReady"]
    assert nodes_ready["status"] == "True"


def test_killed_rollout_resumes_without_replacing_new_machines(
    make_shoot: Callable[..., Shoot], seed_kubeconfig: Path
) -> None:
    shoot = make_shoot(machines=10)
    deploy_workload(shoot, replicas=20, min_available=18)
    shoot.set_version(NEW)
    proc = subprocess.Popen(
        rollout_argv(seed_kubeconfig, shoot),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=agent_env(),
    )
    try:
        wait_until(
            "4 machines on the new image",
            lambda: sum(is_ready(n) and version_of(n) == NEW for n in shoot.nodes()) >= 4,
            timeout=300,
        )
    finally:
        proc.send_signal(signal.SIGKILL)  # no cleanup at all: the Lease stays held
        proc.wait(timeout=30)
    time.sleep(1)
    kept = {n["metadata"]["name"] for n in shoot.nodes() if is_ready(n) and version_of(n) == NEW}
    assert 4 <= len(kept) < 10
    with watching(shoot) as seen:
        run = rollout(seed_kubeconfig, shoot)
    found = seen.problems(most_machines=12, fewest_available=10, fewest_running=18)
    assert not found, "\n".join([*found, str(seen)])
    result = run.result
    nodes = shoot.nodes()
    assert sorted(version_of(n) for n in nodes) == [NEW] * 10
    assert kept <= {n["metadata"]["name"] for n in nodes}, "a new machine was replaced"
    assert result["machinesCreated"] <= 10 - len(kept)
    assert "waiting for the shoot's operation lease" in run.stderr


def test_machines_that_never_boot_freeze_the_rollout_and_old_ones_keep_serving(
    make_shoot: Callable[..., Shoot], seed_kubeconfig: Path
) -> None:
    shoot = make_shoot(machines=4, never_ready=NEW)
    deploy_workload(shoot, replicas=8, min_available=6)
    shoot.set_version(NEW)
    run = rollout(seed_kubeconfig, shoot, "--creation-timeout", "10", "--freeze-after", "2")
    assert run.returncode != 0
    nodes = shoot.nodes()
    failed = sorted(n["metadata"]["name"] for n in nodes if version_of(n) == NEW)
    old = [n for n in nodes if version_of(n) == OLD]
    assert len(failed) == 2
    assert "frozen" in run.stderr
    assert all(name in run.stderr for name in failed)
    assert len(old) == 4
    assert all(is_ready(n) and not n["spec"].get("unschedulable") for n in old)
    assert running_replicas(shoot.api) == 8
    status = shoot.status()
    assert status["lastOperation"]["state"] == "Failed"
    # The status names the machines that failed, the frozen message too. A loaded node can
    # time out the first one early enough for the rollout to delete and replace it before
    # the second fails: then it is gone, and only the last is among the new nodes left.
    recorded = sorted(status["workers"]["pool-a"]["rollout"]["failedMachines"])
    frozen = next(line for line in run.stderr.splitlines() if "frozen after" in line)
    assert len(recorded) == 2
    assert all(name in frozen for name in recorded)
    assert set(recorded) & set(failed)
    names = {n["metadata"]["name"] for n in nodes}
    assert all(name in failed for name in recorded if name in names)
    [nodes_ready] = [c for c in status["conditions"] if c["type"] == "EveryNodeReady"]
    assert nodes_ready["status"] == "False"
    assert all(name in nodes_ready["message"] for name in failed)


def test_budget_allowing_no_disruption_refuses_before_any_machine_is_created(
    make_shoot: Callable[..., Shoot], seed_kubeconfig: Path
) -> None:
    shoot = make_shoot(machines=3)
    deploy_workload(shoot, replicas=3, min_available=3)
    before = sorted(n["metadata"]["name"] for n in shoot.nodes())
    shoot.set_version(NEW)
    run = rollout(seed_kubeconfig, shoot)
    assert run.returncode != 0
    assert "PodDisruptionBudget" in run.stderr
    assert "default/web (allows 0 disruptions" in run.stderr
    nodes = shoot.nodes()
    assert sorted(n["metadata"]["name"] for n in nodes) == before
    assert not any(n["spec"].get("unschedulable") for n in nodes)
    status = shoot.status()
    assert status["lastOperation"]["state"] == "Error"
    assert "default/web" in status["lastErrors"][0]["description"]


def test_drain_blocked_by_a_budget_stops_at_its_timeout_unless_forced(
    make_shoot: Callable[..., Shoot], seed_kubeconfig: Path
) -> None:
    shoot = make_shoot(machines=2)
    # Both pods may run only on old machines: once those are cordoned, an evicted
    # pod's replacement stays Pending and the budget never allows the second eviction.
    deploy_workload(shoot, replicas=2, min_available=1, pin_to=OLD)
    shoot.set_version(NEW)
    run = rollout(seed_kubeconfig, shoot, "--drain-timeout", "10")
    assert run.returncode != 0
    assert "timed out after 10s" in run.stderr
    assert "The disruption budget web needs 1 healthy pods" in run.stderr
    assert "--force-drain" in run.stderr
    old = [n for n in shoot.nodes() if version_of(n) == OLD]
    assert old
    assert all(n["spec"].get("unschedulable") for n in old), "drained machines stay cordoned"
    assert shoot.status()["lastOperation"]["state"] == "Error"

    forced = rollout(seed_kubeconfig, shoot, "--drain-timeout", "5", "--force-drain").result
    assert forced["podsForced"] >= 1
    assert sorted(version_of(n) for n in shoot.nodes()) == [NEW, NEW]


def test_the_watchers_critical_window_is_the_pool_in_motion() -> None:
    """From the last sample at rest before the pool moved to the first at rest after."""
    seen = Observed(size=2)
    states = [(2, 2), (2, 2), (3, 2), (3, 1), (2, 2), (2, 2)]  # (machines, available)
    seen.pool = [PoolSample(float(t), m, a, 4) for t, (m, a) in enumerate(states)]
    window = seen.moving()
    assert (window.start, window.end) == (1.0, 4.0)
    for t in (0.0, 1.0, 2.0, 3.0, 4.0, 5.0):
        seen.ledger.taken(t)
    seen.ledger.lost(6.0, "timeout")  # at rest: counts only against the share
    assert seen.problems(most_machines=3, fewest_available=1, fewest_running=4) == [
        "rollout watcher lost 1 of 7 samples (14.3%; at most 2% may be lost); first: timeout"
    ]
    seen.ledger = SampleLedger("rollout watcher", max_lost_share=0.5)
    for t in (0.0, 1.0, 2.0, 3.0):
        seen.ledger.taken(t)
    seen.ledger.lost(3.5, "refused")  # the stretch 3.0..3.5 lies in the window
    for t in (4.0, 5.0):
        seen.ledger.taken(t)
    assert seen.problems(most_machines=2, fewest_available=2, fewest_running=5) == [
        "rollout watcher lost 1 samples in the critical window while the pool moved (3.0s); "
        "first: refused",
        "3 machines at once (at most 2)",
        "1 machines available (floor 2)",
        "4 replicas of web Running (floor 5)",
    ]
