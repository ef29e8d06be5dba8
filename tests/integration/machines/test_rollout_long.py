"""A rollout at fleet scale (`make test-long`): beyond the budget of `make test`.

The same fenceposts as the pool of ten in test_rollout.py, over 100 machines and
200 replicas with a surge of 10: ten waves, where an off-by-one in the planner or
a lost cordon would have room to show. Run before every release and by whoever
changes the rollout (agent/machine_rollout.py, core/rollout.py, agent/drain.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from machines_helpers import NEW, Shoot, deploy_workload, is_ready, rollout, version_of, watching

# Shoots of the one project `machines`, and `care --project machines` heals any of them:
# the machine modules share one lane (tests/lanes.py).
pytestmark = [
    pytest.mark.integration,
    pytest.mark.long,
    pytest.mark.timeout(1800),
    pytest.mark.lane_group("machines"),
]

MACHINES, SURGE, REPLICAS, MIN_AVAILABLE = 100, 10, 200, 180


def test_pool_of_a_hundred_rolls_in_waves_within_its_fenceposts_and_budget(
    make_shoot: Callable[..., Shoot], seed_kubeconfig: Path
) -> None:
    shoot = make_shoot(machines=MACHINES, surge=SURGE)
    deploy_workload(shoot, replicas=REPLICAS, min_available=MIN_AVAILABLE)
    shoot.set_version(NEW)
    with watching(shoot) as seen:
        run = rollout(seed_kubeconfig, shoot, timeout=1500)
    # The watcher first: it saw the whole rollout (no sample lost in its critical
    # window, few outside), or the test says what it missed.
    assert seen.samples > 20, seen
    found = seen.problems(
        most_machines=MACHINES + SURGE,
        fewest_available=MACHINES,
        fewest_running=MIN_AVAILABLE,
    )
    assert not found, "\n".join([*found, str(seen)])
    nodes = shoot.nodes()
    assert sorted(version_of(n) for n in nodes) == [NEW] * MACHINES
    assert all(is_ready(n) and not n["spec"].get("unschedulable") for n in nodes)
    result = run.result
    assert (result["machinesCreated"], result["machinesDrained"]) == (MACHINES, MACHINES)
    assert shoot.status()["workers"]["pool-a"]["versions"] == [
        {"version": NEW, "machines": MACHINES}
    ]
