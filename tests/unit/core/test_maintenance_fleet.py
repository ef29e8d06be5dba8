"""garden_maintenance per shoot: broken shoots named, rollouts held only by their own shoot,
lastMaintenance Succeeded only when what was planned is so."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from airflow_provider_garden.core.maintenance_fleet import (
    WINDOW_FIELD,
    ShootMaintenance,
    judge,
    plan_shoot,
    rollout_targets,
)
from airflow_provider_garden.core.maintenance_plan import PoolUpdate
from airflow_provider_garden.core.status import OperationState
from airflow_provider_garden.core.version_life import Offering

VERSIONS = ("1.32.13", "1.32.11")
IMAGES = {"gardenlinux": ("1592.1", "1592.2")}
IN = dt.datetime(2026, 12, 1, 3, 30, tzinfo=dt.UTC)
OUT = dt.datetime(2026, 12, 1, 12, 30, tzinfo=dt.UTC)


def shoot(
    name: str = "dev",
    *,
    version: str = "1.32.11",
    image: tuple[str, str] = ("gardenlinux", "1592.1"),
    window: tuple[str, str] = ("030000+0000", "040000+0000"),
    status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "garden-team"},
        "spec": {
            "kubernetes": {"version": version},
            "workers": [
                {
                    "name": "pool",
                    "machine": {"type": "local", "image": {"name": image[0], "version": image[1]}},
                    "minimum": 1,
                    "maximum": 2,
                }
            ],
            "maintenance": {"timeWindow": {"begin": window[0], "end": window[1]}},
        },
        "status": status or {},
    }


def plan(obj: dict[str, Any], at: dt.datetime = IN) -> ShootMaintenance | None:
    return plan_shoot(obj, at=at, offering=Offering.plain(VERSIONS, IMAGES))


POOL = PoolUpdate(pool="pool", image="gardenlinux", version="1592.2")


@pytest.mark.parametrize(
    ("obj", "at", "expected"),
    [
        (shoot(), OUT, None),  # window closed: the shoot is not part of the run
        (
            shoot(),
            IN,
            ShootMaintenance(
                project="team",
                name="dev",
                kubernetes_version="1.32.13",
                planned_from="1.32.11",  # what the spec asked: the update's compare-and-swap
                pools=(POOL,),
            ),
        ),
        # no Kubernetes update, an outdated image: still a plan
        (
            shoot(version="1.32.13"),
            IN,
            ShootMaintenance(project="team", name="dev", pools=(POOL,)),
        ),
        # what runs decides: the spec asks 1.32.13 but 1.32.11 runs, so it is updated
        (
            shoot(version="1.32.13", status={"kubernetesVersion": "v1.32.11"}),
            IN,
            ShootMaintenance(
                project="team",
                name="dev",
                kubernetes_version="1.32.13",
                planned_from="1.32.13",  # the spec's, not the running version
                pools=(POOL,),
            ),
        ),
    ],
)
def test_plan_shoot(obj: dict[str, Any], at: dt.datetime, expected: ShootMaintenance) -> None:
    assert plan(obj, at) == expected


@pytest.mark.parametrize(
    ("obj", "field"),
    [
        # the CRD's pattern accepts these; the window rules refuse them (open or not)
        (shoot(window=("030000+0000", "031000+0000")), WINDOW_FIELD),
        (shoot(window=("030000+0000", "030000+0000")), WINDOW_FIELD),
        (shoot(window=("120000+0000", "220000+0000")), WINDOW_FIELD),
        # withdrawn with nothing to move to
        (shoot(image=("ubuntu", "22.4")), "spec.workers[0].machine.image.name"),
        (shoot(image=("gardenlinux", "1600.0")), "spec.workers[0].machine.image.version"),
        (shoot(version="1.33.1"), "spec.kubernetes.version"),
        # a spec that does not parse
        (shoot(status={"lastOperation": {"type": "Nap", "state": "Ok"}}), "status.lastOperation"),
    ],
)
def test_a_broken_shoot_is_an_entry_naming_the_field(obj: dict[str, Any], field: str) -> None:
    entry = plan(obj, IN)
    assert entry is not None
    assert entry.problem is not None
    assert field in entry.problem
    assert entry.description.startswith("not maintained: ")
    assert (entry.kubernetes_version, entry.pools) == (None, ())  # nothing is changed


def test_a_broken_window_is_reported_at_any_hour() -> None:
    assert plan(shoot(window=("030000+0000", "031000+0000")), OUT) is not None


def test_withdrawn_versions_with_a_successor_are_updated_not_refused() -> None:
    entry = plan(shoot(version="1.32.9", image=("gardenlinux", "1592.0")))
    assert entry is not None
    assert entry.problem is None
    assert entry.kubernetes_version == "1.32.13"
    assert entry.pools == (POOL,)


def test_entries_survive_xcom() -> None:
    entry = plan(shoot())
    assert entry is not None
    assert ShootMaintenance.from_dict(entry.to_dict()) == entry


def status(
    running: str | None = "v1.32.13",
    rollout: tuple[str, str] | None = ("Succeeded", "1592.2"),
    versions: tuple[str, ...] = ("1592.2",),
    last: tuple[str, str] = ("Reconcile", "Succeeded"),
    error: str | None = None,
) -> dict[str, Any]:
    pool: dict[str, Any] = {
        "machines": len(versions),
        "ready": len(versions),
        "image": {"name": "gardenlinux", "version": versions[0] if versions else "1592.2"},
        "versions": [{"version": v, "machines": 1} for v in versions],
    }
    if rollout:
        pool["rollout"] = {
            "state": rollout[0],
            "targetVersion": rollout[1],
            "description": "frozen: 2 machines failed",
        }
    out: dict[str, Any] = {
        "lastOperation": {"type": last[0], "state": last[1], "progress": 100},
        "workers": {"pool": pool},
    }
    if running:
        out["kubernetesVersion"] = running
    if error:
        out["lastErrors"] = [{"description": error}]
    return out


BOTH = ShootMaintenance(project="team", name="dev", kubernetes_version="1.32.13", pools=(POOL,))
IMAGE_ONLY = ShootMaintenance(project="team", name="dev", pools=(POOL,))


@pytest.mark.parametrize(
    ("entry", "st", "state", "words"),
    [
        (BOTH, status(), OperationState.SUCCEEDED, "Kubernetes 1.32.13; pool pool"),
        (IMAGE_ONLY, status(running="v1.32.11"), OperationState.SUCCEEDED, "pool pool to"),
        (
            ShootMaintenance(project="team", name="dev"),
            {},
            OperationState.SUCCEEDED,
            "nothing to update",
        ),
        # the reconcile failed: the version does not run, and the reason is carried over
        (
            BOTH,
            status(running="v1.32.11", last=("Reconcile", "Error"), error="spec.networking.pods"),
            OperationState.FAILED,
            "Kubernetes 1.32.13 is not running (running: v1.32.11; last operation Reconcile "
            "Error: spec.networking.pods)",
        ),
        # a stale Succeeded of an earlier operation does not count for an image not rolled
        (
            IMAGE_ONLY,
            status(rollout=None, versions=("1592.1",)),
            OperationState.FAILED,
            "no rollout",
        ),
        (
            IMAGE_ONLY,
            status(rollout=("Failed", "1592.2"), versions=("1592.1", "1592.2")),
            OperationState.FAILED,
            "rollout Failed to 1592.2: frozen: 2 machines failed",
        ),
        (
            IMAGE_ONLY,
            status(rollout=("Succeeded", "1592.1"), versions=("1592.1",)),
            OperationState.FAILED,
            "pool pool is not on gardenlinux 1592.2",
        ),
        (
            IMAGE_ONLY,
            status(versions=("1592.1", "1592.2")),  # claims success, a machine is old
            OperationState.FAILED,
            "pool pool is not on gardenlinux 1592.2",
        ),
    ],
)
def test_judge(
    entry: ShootMaintenance, st: dict[str, Any], state: OperationState, words: str
) -> None:
    got, why = judge(entry, shoot(status=st))
    assert got is state, why
    assert words in why


def test_judge_a_broken_or_vanished_shoot() -> None:
    broken = ShootMaintenance(project="team", name="dev", problem=f"{WINDOW_FIELD}: too short")
    assert judge(broken, shoot(status=status())) == (
        OperationState.FAILED,
        f"{WINDOW_FIELD}: too short",
    )
    assert judge(BOTH, None) == (OperationState.FAILED, "the Shoot is gone")


def test_a_failed_update_holds_back_only_its_own_rollouts() -> None:
    failed = ShootMaintenance(project="team", name="a", kubernetes_version="1.32.13", pools=(POOL,))
    fine = ShootMaintenance(project="team", name="b", kubernetes_version="1.32.13", pools=(POOL,))
    image_only = ShootMaintenance(project="team", name="c", pools=(POOL,))
    broken = ShootMaintenance(project="team", name="d", problem="x")
    shoots = {
        "team/a": shoot("a", status=status(running="v1.32.11")),
        "team/b": shoot("b", status=status(running="v1.32.13")),
        "team/c": shoot("c", status=status(running="v1.32.11")),
        "team/d": shoot("d"),
    }
    targets, held = rollout_targets([failed, fine, image_only, broken], shoots)
    assert [t["name"] for t in targets] == ["b", "c"]
    assert targets[0] == {
        "project": "team",
        "name": "b",
        "worker_pool": "pool",
        "image_version": "1592.2",
    }
    assert held == {"team/a": "its Kubernetes update to 1.32.13 failed"}
    _, held = rollout_targets([fine], {})
    assert held == {"team/b": "the Shoot is gone"}
