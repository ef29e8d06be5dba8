"""A teardown keeps the shoot's local snapshots; a new shoot of the name never restores them;
garden_backup expires them after retentionAfterDeletion, judged at the run's logical time.

One shoot name, two incarnations (real control planes on the seed, local stores). The
first is provisioned (its first backup is taken) and torn down with ``garden_teardown``;
its store's volume must then be bound in the project namespace and ``garden backups ls
--deleted`` must list its snapshot under its UID. The second, provisioned under the
same name, restores by default its own snapshot, never the first's. ``garden_backup``
then runs at logical times one day (kept; a wrong typed confirmation drops nothing)
and eight days (dropped: claim, volume, record and kept encryption keys gone) after the
teardown. The teardown keeps the shoot's etcd encryption keys beside the record.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session

from airflow_provider_garden.cli.backups import backups_ls
from airflow_provider_garden.core import naming
from airflow_provider_garden.core.controlplane.encryption import ENCRYPTION_FILE, read_keys
from airflow_provider_garden.core.kept_backups import kept_claim_name, kept_key_name, record_name
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION

# garden_backup at a logical time 8 days ahead expires the kept backups of the shoots its
# `only` names; the other module that does so, and judges kept records, runs in the same
# lane (tests/lanes.py).
pytestmark = [
    pytest.mark.integration,
    pytest.mark.usefixtures("airflow_seed_connection"),
    pytest.mark.lane_group("kept-backups"),
]
DAGS = Path(__file__).resolve().parents[3] / "dags"
PROJECT, NAME = "keepbk", "db"
PROJECT_NS = naming.project_namespace(PROJECT)
# Never due at the logical times below: garden_backup's runs here only expire.
YEARLY = "0 0 1 1 *"
BACKUP = {
    "store": {"kind": "local"},
    "schedule": YEARLY,
    "retention": {"policy": "LimitBased", "maxBackups": 3},
}


@pytest.fixture(scope="module")
def bundled() -> dict[str, Any]:
    return DagBag(dag_folder=str(DAGS)).dags


def provision(bundled: dict[str, Any], seed: KubeClient) -> tuple[str, str]:
    """A new incarnation of the shoot with its first backup: (UID, snapshot key)."""
    run = bundled["garden_provision"].test(
        run_conf={"project": PROJECT, "name": NAME, "backup": BACKUP}
    )
    assert run.state == "success"
    shoot = seed.get(SHOOT_API_VERSION, "Shoot", NAME, PROJECT_NS)
    return shoot["metadata"]["uid"], shoot["status"]["lastBackup"]["snapshot"]


def xcom(dag_id: str, run_id: str, task_id: str) -> Any:
    with create_session() as session:
        [row] = session.scalars(
            XComModel.get_many(run_id=run_id, dag_ids=dag_id, task_ids=task_id, key="return_value")
        ).all()
        return XComModel.deserialize_value(row)


def ls(
    seed_kubeconfig: Path, capsys: pytest.CaptureFixture[str], *, deleted: bool
) -> list[dict[str, Any]]:
    """`garden backups ls [--deleted] -o json`: the snapshots listed."""
    args = argparse.Namespace(
        kubeconfig=str(seed_kubeconfig), shoot=(PROJECT, NAME), deleted=deleted, output="json"
    )
    capsys.readouterr()
    assert backups_ls(args) == 0
    items: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["items"]
    return items


def expiry(bundled: dict[str, Any], at: dt.datetime, **conf: Any) -> tuple[str, dict[str, Any]]:
    """garden_backup at logical time ``at``: run state, expire_deleted's line per UID."""
    # Every Param named: dag.test keeps the previous run's conf in the DAG's params.
    conf = {"only": [f"{PROJECT}/{NAME}"], "drop_uid": "", "drop_confirm": "", **conf}
    run = bundled["garden_backup"].test(logical_date=at, run_conf=conf)
    if run.state != "success":
        return str(run.state), {}
    report = xcom("garden_backup", run.run_id, "expire_deleted")
    return str(run.state), {line["uid"]: line for line in report}


def test_teardown_keeps_snapshots_a_new_shoot_skips_them_and_they_expire(
    seed: KubeClient,
    seed_kubeconfig: Path,
    bundled: dict[str, Any],
    shoot_cleanup: list[tuple[str, str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    shoot_cleanup.append((PROJECT, NAME))
    old_uid, old_snapshot = provision(bundled, seed)
    claim = kept_claim_name(NAME, old_uid)

    torn = bundled["garden_teardown"].test(
        run_conf={"project": PROJECT, "name": NAME, "confirm": f"{PROJECT}/{NAME}"}
    )
    deleted_at = dt.datetime.now(dt.UTC)
    assert torn.state == "success"
    assert seed.find(SHOOT_API_VERSION, "Shoot", NAME, PROJECT_NS) is None
    assert seed.find("v1", "Namespace", naming.controlplane_namespace(PROJECT, NAME)) is None
    kept = seed.get("v1", "PersistentVolumeClaim", claim, PROJECT_NS)
    assert kept["status"]["phase"] == "Bound"
    volume = kept["spec"]["volumeName"]
    assert seed.get("v1", "PersistentVolume", volume)["spec"]["persistentVolumeReclaimPolicy"] == (
        "Retain"
    )

    # Its etcd encryption keys outlive the control-plane namespace, beside the record
    # (a from_uid restore of them reads them: tests/integration/etcd/test_backup_restore.py,
    # on S3, as a kept local volume is not mounted by a new shoot).
    keys = kept_key_name(NAME, old_uid)
    record = seed.get("v1", "ConfigMap", record_name(NAME, old_uid), PROJECT_NS)
    assert json.loads(record["data"]["kept.json"])["keySecret"] == keys
    assert read_keys(base64.b64decode(seed.get("v1", "Secret", keys, PROJECT_NS)["data"][
        ENCRYPTION_FILE]))  # fmt: skip

    listed = ls(seed_kubeconfig, capsys, deleted=True)
    assert {i["shootUID"] for i in listed} == {old_uid}  # the deleted shoot's
    assert all(i["deleted"] and i["keptUntil"] for i in listed)
    assert any(i["key"] == old_snapshot and i["good"] for i in listed)

    new_uid, new_snapshot = provision(bundled, seed)
    assert new_uid != old_uid
    restored = bundled["garden_restore"].test(
        run_conf={"project": PROJECT, "name": NAME, "confirm": f"{PROJECT}/{NAME}"}
    )
    assert restored.state == "success"
    result = xcom("garden_restore", restored.run_id, "restore")
    assert result["snapshot"] == new_snapshot != old_snapshot
    current = {i["shootUID"] for i in ls(seed_kubeconfig, capsys, deleted=False)}
    assert new_uid in current
    assert old_uid not in current

    state, day_after = expiry(bundled, deleted_at + dt.timedelta(days=1))
    assert state == "success"
    assert (day_after[old_uid]["outcome"], day_after[old_uid]["verdict"]) == ("kept", "kept")
    state, _ = expiry(
        bundled,
        deleted_at + dt.timedelta(days=1, minutes=1),
        drop_uid=old_uid,
        drop_confirm=f"{PROJECT}/{NAME}",  # not <project>/<name>@<uid>
    )
    assert state == "failed"
    assert seed.find("v1", "PersistentVolumeClaim", claim, PROJECT_NS) is not None

    state, week_after = expiry(bundled, deleted_at + dt.timedelta(days=8))
    assert state == "success"
    assert (week_after[old_uid]["outcome"], week_after[old_uid]["verdict"]) == (
        "dropped",
        "expired",
    )
    assert seed.find("v1", "PersistentVolumeClaim", claim, PROJECT_NS) is None
    assert seed.find("v1", "ConfigMap", record_name(NAME, old_uid), PROJECT_NS) is None
    assert seed.find("v1", "Secret", keys, PROJECT_NS) is None  # the keys went with them
    # The provisioner deletes the volume (and its directory) once the claim is gone.
    seed.wait_for(
        f"PersistentVolume {volume} deleted",
        lambda: seed.find("v1", "PersistentVolume", volume) is None,
        timeout=120,
    )
    assert ls(seed_kubeconfig, capsys, deleted=True) == []
