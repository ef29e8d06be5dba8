"""garden_backup follows each shoot's schedule, backs up broken shoots, reports every shoot.

One real shoot (a control plane on the seed, backups in its local store) with the
schedule ``0 */6 * * *`` whose last operation is a real failed restore (a snapshot
name that does not exist: ``Restore Error``, etcd untouched), beside two bare Shoot
objects (no control plane): one being created, one being deleted. The bundled
``garden_backup`` runs with ``dag.test()`` at two logical times: 07:15 (its interval
holds no tick) and 06:15 (it holds 06:00).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.status import OperationState, OperationType
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.kube.shoots import Shoots

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("airflow_seed_connection")]
DAGS = Path(__file__).resolve().parents[3] / "dags"
PROJECT, SHOOT = "bkpsched", "six"
EVERY_SIX_HOURS = "0 */6 * * *"
NO_TICK = dt.datetime(2026, 12, 1, 7, 15, tzinfo=dt.UTC)  # interval (06:15, 07:15]
TICK = dt.datetime(2026, 12, 1, 6, 15, tzinfo=dt.UTC)  # interval (05:15, 06:15] holds 06:00
BARE = {"creating": None, "deleting": (OperationType.DELETE, OperationState.PROCESSING)}


@pytest.fixture(scope="module")
def bundled() -> dict[str, Any]:
    return DagBag(dag_folder=str(DAGS)).dags


def shoot(seed: KubeClient, name: str = SHOOT) -> dict[str, Any]:
    return seed.get(SHOOT_API_VERSION, "Shoot", name, naming.project_namespace(PROJECT))


@pytest.fixture(scope="module")
def failed_restore(
    seed: KubeClient, bundled: dict[str, Any], shoot_cleanup: list[tuple[str, str]]
) -> None:
    """The real shoot, provisioned (with its first backup), then a restore that failed."""
    shoot_cleanup.append((PROJECT, SHOOT))
    provisioned = bundled["garden_provision"].test(
        run_conf={
            "project": PROJECT,
            "name": SHOOT,
            "backup": {
                "store": {"kind": "local"},
                "schedule": EVERY_SIX_HOURS,
                "retention": {"policy": "LimitBased", "maxBackups": 3},
            },
        }
    )
    assert provisioned.state == "success"
    restore = bundled["garden_restore"].test(
        run_conf={
            "project": PROJECT,
            "name": SHOOT,
            "snapshot": "Backup-19700101T000000Z/Full-0-1-19700101T000000Z",
            "confirm": f"{PROJECT}/{SHOOT}",
        }
    )
    assert restore.state == "failed"
    last = shoot(seed)["status"]["lastOperation"]
    assert (last["type"], last["state"]) == ("Restore", "Error")


@pytest.fixture(scope="module")
def bare_shoots(seed: KubeClient, failed_restore: None) -> Iterator[None]:
    """Shoot objects with no control plane: one being created, one being deleted."""
    template = shoot(seed)
    shoots = Shoots(seed)
    try:
        for name, operation in BARE.items():
            seed.apply(
                {
                    "apiVersion": SHOOT_API_VERSION,
                    "kind": "Shoot",
                    "metadata": {"name": name, "namespace": naming.project_namespace(PROJECT)},
                    "spec": template["spec"],
                }
            )
            if operation:
                type_, state = operation
                shoots.report(
                    PROJECT, name, type_=type_, state=state, progress=10, description="test"
                )
        yield
    finally:
        for name in BARE:
            seed.delete(SHOOT_API_VERSION, "Shoot", name, naming.project_namespace(PROJECT))


def backup_run(bundled: dict[str, Any], at: dt.datetime) -> tuple[str, dict[str, Any]]:
    """Run garden_backup over this project's shoots at logical time ``at``: state, report."""
    only = [f"{PROJECT}/{n}" for n in (SHOOT, *BARE)]
    run = bundled["garden_backup"].test(logical_date=at, run_conf={"only": only})
    with create_session() as session:
        [row] = session.scalars(
            XComModel.get_many(
                run_id=run.run_id, dag_ids="garden_backup", task_ids="report", key="return_value"
            )
        ).all()
        report: dict[str, Any] = XComModel.deserialize_value(row)
    return str(run.state), report


def outcomes(report: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {s["shoot"]: (s["outcome"], s["reason"]) for s in report["shoots"]}


def test_a_shoot_after_a_failed_restore_is_backed_up_when_its_schedule_ticks(
    seed: KubeClient, bundled: dict[str, Any], bare_shoots: None
) -> None:
    before = shoot(seed)["status"]["lastBackup"]

    state, report = backup_run(bundled, NO_TICK)
    assert state == "success"
    seen = outcomes(report)
    assert seen[f"{PROJECT}/{SHOOT}"][0] == "not due", seen
    assert "next ticks at 2026-12-01T12:00Z" in seen[f"{PROJECT}/{SHOOT}"][1]
    assert seen[f"{PROJECT}/creating"] == ("skipped", "being created (no operation yet)")
    assert seen[f"{PROJECT}/deleting"] == ("skipped", "being deleted")
    assert shoot(seed)["status"]["lastBackup"] == before  # nothing was backed up

    state, report = backup_run(bundled, TICK)
    assert state == "success"
    outcome, reason = outcomes(report)[f"{PROJECT}/{SHOOT}"]
    after = shoot(seed)["status"]
    assert outcome == "backed up", reason
    assert "ticked at 2026-12-01T06:00Z" in reason
    assert "Restore Error" in reason
    assert after["lastBackup"]["verified"] is True
    assert after["lastBackup"]["snapshot"] not in (before["snapshot"], None)
    assert reason.startswith(after["lastBackup"]["snapshot"])
    # the backup did not paper over the failed restore
    assert (after["lastOperation"]["type"], after["lastOperation"]["state"]) == (
        "Restore",
        "Error",
    )
    assert report["counts"] == {"backed up": 1, "not due": 0, "skipped": 2, "failed": 0}
