"""etcd backups end to end: 1,000 ConfigMaps in a shoot, backed up, deleted, restored.

Runs the bundled DAGs (garden_provision, garden_backup, garden_restore) with
`dag.test()`: real pods on the local seed, a real etcd, a real snapstore (a volume
in the seed, or a bucket on a real S3-compatible server reachable from pods).

The local round trip's shoot (bk-local/db) then loses its etcd data: emptied on the
seed's disk while etcd is stopped, etcd started again. The data check in the etcd pod
(given the Shoot's UID) refuses, naming this shoot's newest good snapshot and not a newer
one of another UID planted beside it; etcd stays down, care writes ControlPlaneHealthy
False with ERR_ETCD_DATA_LOST, the next reconcile ends Failed with that code. Setting
spec.backup.autoRestore makes that reconcile bring etcd back from the snapshot (every
ConfigMap); after that, emptying the directory again needs nobody: etcd restores on its
own restart. A restore drill (garden_restore_drill) passes on that shoot and fails naming
the sha256 mismatch once its newest snapshot is corrupted in the store. These tests share
the round trip's shoot (a provision and a delete less).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
from etcd_data_loss import (
    ForeignSnapshot,
    arg,
    data_check_command,
    empty_data_and_restart,
    refusal,
    refused,
    until,
    volume_root,
)
from s3server import S3Server, start
from seed_kubectl import kubectl as seed_kubectl
from shoot_cleanup import delete_shoot

from airflow_provider_garden.agent.components.backup import BackupInfrastructure
from airflow_provider_garden.agent.context import control_plane_of
from airflow_provider_garden.core import naming
from airflow_provider_garden.core.controlplane.encryption import (
    ENCRYPTION_FILE,
    ENCRYPTION_SECRET,
    REWRITE_ANNOTATION,
    EncryptionKey,
    read_keys,
)
from airflow_provider_garden.core.controlplane.manifests import BACKUP_VOLUME_CLAIM
from airflow_provider_garden.core.error_codes import Cause, KnownCause
from airflow_provider_garden.core.etcd_data_check import RESTORED_FROM_FILE
from airflow_provider_garden.core.kept_backups import RECORD_LABEL, kept_key_name, record_name
from airflow_provider_garden.core.retention import snapshot_name
from airflow_provider_garden.core.settings import DEFAULT_NAMESPACE
from airflow_provider_garden.core.shoot_spec import parse_shoot
from airflow_provider_garden.core.store_space import MIB, format_size, parse_quantity
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.kube.workload import statefulset_ready
from airflow_provider_garden.localseed.config import NODE_IP
from airflow_provider_garden.snapstore.local import LocalStore
from airflow_provider_garden.snapstore.manifest import Manifest, manifest_key, write_manifest

# garden_backup at a logical time 8 days ahead expires the kept backups of the shoots its
# `only` names; the other module that does so, and judges kept records, runs in the same
# lane (tests/lanes.py).
pytestmark = [
    pytest.mark.integration,
    pytest.mark.usefixtures("airflow_seed_connection"),
    pytest.mark.lane_group("kept-backups"),
]
DAGS = Path(__file__).resolve().parents[3] / "dags"
COUNT = 1000
LOCAL_SHOOT = ("bk-local", "db")
# garden_provision's default spec.backup
LOCAL = {"store": {"kind": "local"}, "retention": {"policy": "Exponential"}}


@pytest.fixture(scope="module")
def bundled() -> dict[str, Any]:
    return DagBag(dag_folder=str(DAGS)).dags


def run(dags: dict[str, Any], dag_id: str, **conf: Any) -> str:
    return str(dags[dag_id].test(run_conf=conf).state)


def shoot_kubeconfig(seed: KubeClient, project: str, name: str, tmp: Path) -> Path:
    secret = seed.get(
        "v1", "Secret", naming.kubeconfig_secret(name), naming.project_namespace(project)
    )
    path = tmp / f"{project}-{name}.kubeconfig"
    path.write_bytes(base64.b64decode(secret["data"]["kubeconfig-external"]))
    return path


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> str:
    """kubectl against the shoot; every call here is idempotent, so a transient error
    (a slow answer on a loaded machine) is retried before it fails the test."""
    for attempt in range(3):
        out = subprocess.run(
            [seed_kubectl(), "--kubeconfig", str(kubeconfig), "--request-timeout=60s", *args],
            input=stdin, capture_output=True, text=True, check=False, timeout=300,
        )  # fmt: skip
        if out.returncode == 0:
            return out.stdout
        time.sleep(5 * (attempt + 1))
    raise AssertionError(f"kubectl {' '.join(args)} failed: {out.stderr.strip()[-500:]}")


def bulk_configmaps(kubeconfig: Path) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bulk"}}
    kubectl(kubeconfig, "apply", "-f", "-", stdin=json.dumps(namespace))
    items = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"cm-{i:04d}", "namespace": "bulk", "labels": {"bulk": "yes"}},
            "data": {"i": str(i)},
        }
        for i in range(COUNT)
    ]
    for chunk in range(0, COUNT, 250):
        kubectl(
            kubeconfig,
            "apply",
            "-f",
            "-",
            stdin=json.dumps(
                {"apiVersion": "v1", "kind": "List", "items": items[chunk : chunk + 250]}
            ),
        )


def count_configmaps(kubeconfig: Path) -> int:
    return len(
        kubectl(
            kubeconfig, "get", "configmaps", "-n", "bulk", "-l", "bulk=yes", "-o", "name"
        ).split()
    )


def last_backup(seed: KubeClient, project: str, name: str) -> dict[str, Any]:
    shoot = seed.get(SHOOT_API_VERSION, "Shoot", name, naming.project_namespace(project))
    return dict((shoot.get("status") or {}).get("lastBackup") or {})


def backup_then_restore(
    seed: KubeClient, dags: dict[str, Any], project: str, name: str, tmp: Path
) -> None:
    kubeconfig = shoot_kubeconfig(seed, project, name, tmp)
    bulk_configmaps(kubeconfig)
    assert count_configmaps(kubeconfig) == COUNT
    before = last_backup(seed, project, name)

    assert run(dags, "garden_backup", only=[f"{project}/{name}"]) == "success"
    backup = last_backup(seed, project, name)
    assert backup["verified"] is True
    assert backup["snapshot"] != before.get("snapshot")

    kubectl(kubeconfig, "delete", "configmaps", "-n", "bulk", "-l", "bulk=yes", "--wait=true")
    assert count_configmaps(kubeconfig) == 0

    assert (
        run(dags, "garden_restore", project=project, name=name, confirm=f"{project}/{name}")
        == "success"
    )
    assert count_configmaps(kubeconfig) == COUNT
    assert kubectl(kubeconfig, "get", "--raw", "/readyz").strip() == "ok"
    shoot = seed.get(SHOOT_API_VERSION, "Shoot", name, naming.project_namespace(project))
    assert shoot["status"]["lastOperation"]["type"] == "Restore"
    assert shoot["status"]["lastOperation"]["state"] == "Succeeded"


def test_local_store_round_trip(
    seed: KubeClient, bundled: dict[str, Any], tmp_path: Path, shoot_cleanup: list[tuple[str, str]]
) -> None:
    project, name = LOCAL_SHOOT
    if (project, name) not in shoot_cleanup:
        shoot_cleanup.append((project, name))
    assert run(bundled, "garden_provision", project=project, name=name) == "success"
    assert last_backup(seed, project, name)["verified"] is True  # the provisioning's first backup
    backup_then_restore(seed, bundled, project, name, tmp_path)


@pytest.fixture(scope="module")
def local_shoot(
    seed: KubeClient,
    bundled: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
    shoot_cleanup: list[tuple[str, str]],
) -> Path:
    """bk-local/db with COUNT bulk ConfigMaps in its newest good snapshot, as the local
    round trip leaves it (made here when that test did not run); its kubeconfig."""
    project, name = LOCAL_SHOOT
    if (project, name) not in shoot_cleanup:
        shoot_cleanup.append((project, name))
    if seed.find(SHOOT_API_VERSION, "Shoot", name, naming.project_namespace(project)) is None:
        assert run(bundled, "garden_provision", project=project, name=name) == "success"
    kubeconfig = shoot_kubeconfig(seed, project, name, tmp_path_factory.mktemp("local"))
    if count_configmaps(kubeconfig) != COUNT:
        bulk_configmaps(kubeconfig)
        assert run(bundled, "garden_backup", only=[f"{project}/{name}"]) == "success"
    return kubeconfig


def shoot_status(seed: KubeClient, project: str, name: str) -> dict[str, Any]:
    shoot = seed.get(SHOOT_API_VERSION, "Shoot", name, naming.project_namespace(project))
    return dict(shoot.get("status") or {})


def test_lost_data_keeps_etcd_down_and_the_shoot_reports_it(
    seed: KubeClient, bundled: dict[str, Any], local_shoot: Path
) -> None:
    project, name = LOCAL_SHOOT
    cp_ns = naming.controlplane_namespace(project, name)
    snapshot = last_backup(seed, project, name)["snapshot"]
    uid = seed.get(SHOOT_API_VERSION, "Shoot", name, naming.project_namespace(project))["metadata"][
        "uid"
    ]
    assert arg(data_check_command(seed, cp_ns), "--shoot-uid") == uid
    with ForeignSnapshot(seed, cp_ns, snapshot) as foreign:
        empty_data_and_restart(seed, cp_ns)
        reason = until(lambda: refused(seed, cp_ns), what="the etcd pod's data check refusing")
    assert "has no database" in reason
    assert snapshot in reason  # this shoot's newest good backup is named ...
    assert foreign not in reason  # ... not the newer one of another shoot UID
    assert not statefulset_ready(seed, cp_ns, "etcd")

    # care observes it (no operation needed) ...
    care = bundled["garden_care"].test(run_conf={"project": project, "parallelism": 1})
    assert care.state == "success"
    observed = {c["type"]: c for c in shoot_status(seed, project, name).get("conditions") or []}
    healthy = observed["ControlPlaneHealthy"]
    assert healthy["reason"] == "EtcdDataLost", healthy
    assert healthy.get("codes") == ["ERR_ETCD_DATA_LOST"], healthy
    # ... and a reconcile ends at once, Failed, with the code
    assert run(bundled, "garden_provision", project=project, name=name, backup=LOCAL) == "failed"
    status = shoot_status(seed, project, name)
    codes = [code for e in status.get("lastErrors") or [] for code in e.get("codes") or []]
    assert "ERR_ETCD_DATA_LOST" in codes, status.get("lastErrors")
    assert status["lastOperation"]["state"] == "Failed"  # a retry cannot bring data back
    assert not statefulset_ready(seed, cp_ns, "etcd")
    assert list((volume_root(seed, cp_ns) / "data").iterdir()) == []  # nothing started on it
    assert last_backup(seed, project, name)["snapshot"] == snapshot  # no empty backup


def test_auto_restore_brings_the_data_back(
    seed: KubeClient, bundled: dict[str, Any], local_shoot: Path
) -> None:
    project, name = LOCAL_SHOOT
    cp_ns = naming.controlplane_namespace(project, name)
    snapshot = last_backup(seed, project, name)["snapshot"]
    auto = {**LOCAL, "autoRestore": True}
    # The pod refused under the old template is replaced by reconcile, and restores.
    assert run(bundled, "garden_provision", project=project, name=name, backup=auto) == "success"
    assert count_configmaps(local_shoot) == COUNT
    record = json.loads((volume_root(seed, cp_ns) / "data" / RESTORED_FROM_FILE).read_text())
    assert record["snapshot"] == snapshot

    # From now on nobody has to act: etcd restores on its own restart.
    empty_data_and_restart(seed, cp_ns)
    until(
        lambda: True if statefulset_ready(seed, cp_ns, "etcd") else None,
        what="etcd ready after restoring by itself",
    )
    until(
        lambda: True if _readyz(local_shoot) else None,
        what="the shoot's kube-apiserver serving again",
        timeout=420,  # it may sit in a crash-loop backoff from the first outage
    )
    assert count_configmaps(local_shoot) == COUNT
    assert refusal(seed, cp_ns) is None
    names = sorted(p.name for p in volume_root(seed, cp_ns).iterdir() if p.name != "lost+found")
    assert names == ["data"], names  # the emptied directory was not kept, no part left


def _readyz(kubeconfig: Path) -> bool:
    try:
        return kubectl(kubeconfig, "get", "--raw", "/readyz").strip() == "ok"
    except AssertionError:
        return False


@pytest.fixture(scope="module")
def s3_for_pods(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    # On the seed's own bridge address: reachable from pods, never leaves this machine.
    server = start(tmp_path_factory.mktemp("s3-pods"), host=NODE_IP)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def s3_shoots(seed: KubeClient, s3_for_pods: S3Server) -> Iterator[list[tuple[str, str]]]:
    """Shoots on the S3 store: deleted, kept snapshots dropped, while the store still runs
    (the module's `shoot_cleanup` ends after `s3_for_pods` has stopped it)."""
    created: list[tuple[str, str]] = []
    yield created
    for project, name in created:
        delete_shoot(seed, project, name)


def test_s3_store_round_trip(
    seed: KubeClient,
    bundled: dict[str, Any],
    s3_for_pods: S3Server,
    tmp_path: Path,
    s3_shoots: list[tuple[str, str]],
) -> None:
    project, name = "bk-s3", "db"
    s3_shoots.append((project, name))
    bucket = f"etcd-{uuid.uuid4().hex[:8]}"
    s3_for_pods.client().create_bucket(Bucket=bucket)
    secret_dir = s3_for_pods.write_secret_dir(tmp_path / "creds")
    data = {f.name: base64.b64encode(f.read_bytes().strip()).decode() for f in secret_dir.iterdir()}
    project_ns = naming.project_namespace(project)
    seed.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": project_ns}})
    seed.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s3", "namespace": project_ns},
            "data": data,
        }
    )
    backup = {
        "store": {
            "kind": "s3",
            "bucket": bucket,
            "prefix": "shoot--bk-s3--db/s3",
            "secretRef": {"name": "s3"},
        },
        "retention": {"policy": "LimitBased", "maxBackups": 3},
    }
    assert run(bundled, "garden_provision", project=project, name=name, backup=backup) == "success"
    keys = [
        o["Key"] for o in s3_for_pods.client().list_objects_v2(Bucket=bucket).get("Contents", [])
    ]
    assert any(k.startswith("shoot--bk-s3--db/s3/Backup-") and k.endswith(".gz") for k in keys)
    backup_then_restore(seed, bundled, project, name, tmp_path)


def etcd_value(seed_kubeconfig: Path, project: str, name: str, key: str) -> bytes:
    """The raw value of ``key`` in the shoot's etcd (what a snapshot holds)."""
    tls = "/etc/etcd/tls"
    return subprocess.run(
        [seed_kubectl(), "--kubeconfig", str(seed_kubeconfig), "exec", "-n",
         naming.controlplane_namespace(project, name), "etcd-0", "-c", "etcd", "--",
         "etcdctl", "--endpoints=https://127.0.0.1:2379", f"--cacert={tls}/ca.crt",
         f"--cert={tls}/tls.crt", f"--key={tls}/tls.key", "get", key, "--print-value-only"],
        capture_output=True, check=True, timeout=60,
    ).stdout  # fmt: skip


def encryption_secret(seed: KubeClient, project: str, name: str) -> dict[str, Any]:
    cp_ns = naming.controlplane_namespace(project, name)
    return seed.get("v1", "Secret", ENCRYPTION_SECRET, cp_ns)


def keys_of(secret: dict[str, Any]) -> list[EncryptionKey]:
    return read_keys(base64.b64decode(secret["data"][ENCRYPTION_FILE]))


def test_s3_a_deleted_shoots_encrypted_secrets_read_back_after_a_from_uid_restore(
    seed: KubeClient, bundled: dict[str, Any], seed_kubeconfig: Path, tmp_path: Path
) -> None:
    """After the round trip: a Secret written (encrypted under the shoot's key) and backed
    up; garden_teardown keeps the key beside the kept snapshots; the shoot created again
    under the name (another UID, another key) restores the old UID's snapshot with
    from_uid and reads the Secret; its next reconcile re-encrypts it under its own key.
    The new incarnation stays for the expiry test after this one."""
    project, name = "bk-s3", "db"
    project_ns = naming.project_namespace(project)
    old = seed.get(SHOOT_API_VERSION, "Shoot", name, project_ns)
    old_uid, backup = old["metadata"]["uid"], old["spec"]["backup"]
    canary = f"canary-{uuid.uuid4().hex}"
    kubectl(shoot_kubeconfig(seed, project, name, tmp_path), "create", "secret", "generic",
            "kept-canary", "-n", "default", f"--from-literal=value={canary}")  # fmt: skip
    old_keys = keys_of(encryption_secret(seed, project, name))
    secret_key = "/registry/secrets/default/kept-canary"
    assert etcd_value(seed_kubeconfig, project, name, secret_key).startswith(
        f"k8s:enc:aescbc:v1:{old_keys[0].name}:".encode()
    )
    before = last_backup(seed, project, name)
    assert run(bundled, "garden_backup", only=[f"{project}/{name}"], force=True) == "success"
    assert last_backup(seed, project, name)["snapshot"] != before.get("snapshot")

    torn = bundled["garden_teardown"].test(
        run_conf={"project": project, "name": name, "confirm": f"{project}/{name}"}
    )
    assert torn.state == "success"
    record = seed.get("v1", "ConfigMap", record_name(name, old_uid), project_ns)
    kept = seed.get("v1", "Secret", kept_key_name(name, old_uid), project_ns)
    assert json.loads(record["data"]["kept.json"])["keySecret"] == kept["metadata"]["name"]
    assert keys_of(kept) == old_keys  # the key outlived the control-plane namespace

    assert run(bundled, "garden_provision", project=project, name=name, backup=backup) == (
        "success"
    )
    new_uid = seed.get(SHOOT_API_VERSION, "Shoot", name, project_ns)["metadata"]["uid"]
    assert new_uid != old_uid
    [own] = keys_of(encryption_secret(seed, project, name))
    assert own not in old_keys  # the new incarnation writes under a key of its own
    assert run(bundled, "garden_restore", project=project, name=name, snapshot="",
               from_uid=old_uid, confirm=f"{project}/{name}") == "success"  # fmt: skip

    kubeconfig = shoot_kubeconfig(seed, project, name, tmp_path)
    read = kubectl(kubeconfig, "get", "secret", "kept-canary", "-n", "default", "-o",
                   "jsonpath={.data.value}")  # fmt: skip
    assert base64.b64decode(read).decode() == canary  # read with the kept key
    restored = encryption_secret(seed, project, name)
    assert keys_of(restored) == [own, *old_keys]  # own first: it writes; identity stays last
    assert restored["metadata"]["annotations"][REWRITE_ANNOTATION] == old_uid

    # The next reconcile writes every Secret again, under the shoot's own key.
    assert run(bundled, "garden_provision", project=project, name=name, backup=backup) == (
        "success"
    )
    raw = etcd_value(seed_kubeconfig, project, name, secret_key)
    assert raw.startswith(f"k8s:enc:aescbc:v1:{own.name}:".encode()), raw[:60]
    assert canary.encode() not in raw
    after = encryption_secret(seed, project, name)
    assert REWRITE_ANNOTATION not in (after["metadata"].get("annotations") or {})
    assert keys_of(after) == [own, *old_keys]  # snapshots from before the rewrite still read
    read = kubectl(kubeconfig, "get", "secret", "kept-canary", "-n", "default", "-o",
                   "jsonpath={.data.value}")  # fmt: skip
    assert base64.b64decode(read).decode() == canary


def test_s3_teardown_keeps_snapshots_until_expiry(
    seed: KubeClient, bundled: dict[str, Any], s3_for_pods: S3Server
) -> None:
    """After the round trip: garden_teardown keeps the S3 snapshots (same bucket, a record
    in the project namespace); garden_backup at a logical time past
    retentionAfterDeletion (168h) deletes exactly them, and the record."""
    project, name = "bk-s3", "db"
    project_ns = naming.project_namespace(project)
    shoot = seed.get(SHOOT_API_VERSION, "Shoot", name, project_ns)
    uid, bucket = shoot["metadata"]["uid"], shoot["spec"]["backup"]["store"]["bucket"]
    s3 = s3_for_pods.client()

    def stored() -> list[str]:
        listing = s3.list_objects_v2(Bucket=bucket, Prefix="shoot--bk-s3--db/s3/")
        return sorted(o["Key"] for o in listing.get("Contents", []))

    before = stored()
    assert any(k.endswith(".gz") for k in before)
    torn = bundled["garden_teardown"].test(
        run_conf={"project": project, "name": name, "confirm": f"{project}/{name}"}
    )
    deleted_at = dt.datetime.now(dt.UTC)
    assert torn.state == "success"
    assert stored() == before  # nothing went with the shoot
    assert seed.find("v1", "ConfigMap", record_name(name, uid), project_ns) is not None

    # `only` names the deleted shoot, so the run's backup report fails it ("no such
    # Shoot"); what is judged here is its expire_deleted task's report and the bucket.
    conf = {"only": [f"{project}/{name}"], "drop_uid": "", "drop_confirm": ""}
    expired = bundled["garden_backup"].test(
        logical_date=deleted_at + dt.timedelta(days=8), run_conf=conf
    )
    with create_session() as session:
        [row] = session.scalars(
            XComModel.get_many(
                run_id=expired.run_id,
                dag_ids="garden_backup",
                task_ids="expire_deleted",
                key="return_value",
            )
        ).all()
        report = {line["uid"]: line for line in XComModel.deserialize_value(row)}
    assert report[uid]["outcome"] == "dropped", report[uid]
    assert stored() == []
    assert seed.find("v1", "ConfigMap", record_name(name, uid), project_ns) is None
    # Every incarnation's kept encryption keys went with its snapshots.
    mine = [r for r in report.values() if r["shoot"] == f"{project}/{name}"]
    assert len(mine) == 2, mine  # the round trip's incarnation and the one after it
    assert [r for r in mine if r["outcome"] != "dropped"] == []
    kept_keys = seed.list("v1", "Secret", project_ns, label_selector=f"{RECORD_LABEL}=true")
    assert kept_keys == []


def test_corrupted_snapshot_is_never_restored(
    seed: KubeClient, bundled: dict[str, Any], seed_kubeconfig: Path
) -> None:
    project, name = LOCAL_SHOOT
    if seed.find(SHOOT_API_VERSION, "Shoot", name, naming.project_namespace(project)) is None:
        assert run(bundled, "garden_provision", project=project, name=name) == "success"
    snapshot = last_backup(seed, project, name)["snapshot"]
    claim = seed.get(
        "v1",
        "PersistentVolumeClaim",
        BACKUP_VOLUME_CLAIM,
        naming.controlplane_namespace(project, name),
    )
    volume = seed.get("v1", "PersistentVolume", claim["spec"]["volumeName"])
    root = Path((volume["spec"].get("hostPath") or volume["spec"]["local"])["path"])
    stored = next(root.rglob(Path(snapshot).name))
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte changed: only the sha256 can tell
    stored.write_bytes(bytes(data))

    state = run(
        bundled,
        "garden_restore",
        project=project,
        name=name,
        snapshot=snapshot,
        from_uid="",  # dag.test keeps an earlier run's Params (the from_uid restore's)
        confirm=f"{project}/{name}",
    )
    assert state == "failed"
    manifest = json.loads(stored.with_name(stored.name + ".manifest.json").read_text())
    assert manifest["verified"] is False  # now listed as not good
    # the shoot was never stopped: verification comes before anything else
    cp_ns = naming.controlplane_namespace(project, name)
    assert seed.get("apps/v1", "StatefulSet", "etcd", cp_ns)["spec"]["replicas"] == 1
    assert seed.get("apps/v1", "Deployment", "kube-apiserver", cp_ns)["spec"]["replicas"] == 1


# --- restore drills (reuse bk-local/db) -----------------------------------------------


def drill_run(dags: dict[str, Any], project: str, name: str) -> tuple[str, dict[str, Any]]:
    """A garden_restore_drill run of one shoot: its state and the XComs of the drill task
    (``drill``, only when it passed) and of the report (``report``, only when all passed)."""
    run = dags["garden_restore_drill"].test(run_conf={"only": [f"{project}/{name}"]})
    xcoms: dict[str, Any] = {}
    with create_session() as session:
        for task in ("drill", "report"):
            rows = session.scalars(
                XComModel.get_many(
                    run_id=run.run_id,
                    dag_ids="garden_restore_drill",
                    task_ids=task,
                    key="return_value",
                )
            ).all()
            for row in rows:
                xcoms[task] = XComModel.deserialize_value(row)
    return str(run.state), xcoms


def test_restore_drill_passes_then_fails_naming_a_corrupted_snapshot(
    seed: KubeClient, bundled: dict[str, Any], local_shoot: Path
) -> None:
    """The drill restores the newest good snapshot (1,000 ConfigMaps) into a scratch etcd
    in its pod and records status.lastRestoreDrill; with that snapshot corrupted in the
    store it fails naming the sha256 mismatch, and neither touches the shoot."""
    project, name = LOCAL_SHOOT
    # A fresh newest snapshot holding the bulk ConfigMaps, whatever earlier tests left.
    assert run(bundled, "garden_backup", only=[f"{project}/{name}"], force=True) == "success"
    snapshot = last_backup(seed, project, name)["snapshot"]

    state, xcoms = drill_run(bundled, project, name)
    assert state == "success", xcoms
    drill = shoot_status(seed, project, name)["lastRestoreDrill"]
    assert drill["state"] == "Succeeded", drill
    assert drill["snapshot"] == snapshot
    assert drill["revision"] == last_backup(seed, project, name)["endRevision"]
    assert drill["objects"] >= COUNT
    assert xcoms["drill"]["objectsByResource"]["configmaps"] >= COUNT
    assert xcoms["drill"]["objectsByResource"]["namespaces"] >= 1
    assert xcoms["report"] == [
        {"shoot": f"{project}/{name}", "outcome": "passed", "reason": drill["description"]}
    ]

    store, _ = local_store(seed, project, name)
    stored = store.base / snapshot
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte changed: only the sha256 can tell
    stored.write_bytes(bytes(data))

    state, xcoms = drill_run(bundled, project, name)
    assert state == "failed"
    drill = shoot_status(seed, project, name)["lastRestoreDrill"]
    assert drill["state"] == "Failed", drill
    assert drill["snapshot"] == snapshot
    assert "sha256" in drill["description"], drill
    assert "differs from the manifest" in drill["description"], drill
    manifest = json.loads(stored.with_name(stored.name + ".manifest.json").read_text())
    assert manifest["verified"] is False  # the next drill takes the newest one still good
    # The shoot itself was only read: its control plane still serves the ConfigMaps.
    assert count_configmaps(local_shoot) == COUNT


# --- a local store filled to the brim (reuses bk-local/db) -----------------------------


def local_store(seed: KubeClient, project: str, name: str) -> tuple[LocalStore, int]:
    """The shoot's local store on the seed's disk (what its backup pod mounts) and the
    claim's size, the store's budget."""
    cp_ns = naming.controlplane_namespace(project, name)
    claim = seed.get("v1", "PersistentVolumeClaim", BACKUP_VOLUME_CLAIM, cp_ns)
    volume = seed.get("v1", "PersistentVolume", claim["spec"]["volumeName"])
    root = Path((volume["spec"].get("hostPath") or volume["spec"]["local"])["path"])
    capacity = parse_quantity(claim["spec"]["resources"]["requests"]["storage"])
    return LocalStore(root=root, prefix=cp_ns), capacity  # the default prefix


def fill_to_the_brim(store: LocalStore, capacity: int, *, uid: str, days_old: int) -> list[str]:
    """Two verified-looking snapshots of ``uid``, ``days_old`` days old, that leave 1 MiB
    free: less than any snapshot needs (16 MiB headroom alone). Their objects are sparse
    files: the store counts their size, the seed's disk does not have to hold it."""
    total = store.space(capacity).free - MIB
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    keys = []
    for i, size in enumerate((total // 2, total - total // 2)):
        key = snapshot_name(1, 2 + i, now - dt.timedelta(days=days_old + i), compressed=True)
        manifest = Manifest.for_snapshot(
            key, size=size, sha256="0" * 64, etcd_version="3.5.16", shoot_uid=uid
        )
        write_manifest(store, dataclasses.replace(manifest, verified=True))
        with (store.base / key).open("wb") as sparse:
            sparse.truncate(size)
        keys.append(key)
    owner = store.base.stat()
    for path in store.base.rglob("*"):  # the backup pod's user must be able to delete them
        os.chown(path, owner.st_uid, owner.st_gid)
    assert 0 < store.space(capacity).free <= MIB  # the manifests took a few bytes more
    return keys


def drop(store: LocalStore, keys: list[str]) -> None:
    for key in keys:
        store.delete(key)
        store.delete(manifest_key(key))


def backup_report(dags: dict[str, Any], project: str, name: str) -> tuple[str, dict[str, Any]]:
    """A forced garden_backup run of one shoot: its state and XComs (the report's, and the
    backup task's result as "backup" when it succeeded)."""
    run = dags["garden_backup"].test(run_conf={"only": [f"{project}/{name}"], "force": True})
    xcoms: dict[str, Any] = {}
    with create_session() as session:
        for task in ("report", "backup"):
            rows = session.scalars(
                XComModel.get_many(
                    run_id=run.run_id, dag_ids="garden_backup", task_ids=task, key="return_value"
                )
            ).all()
            for row in rows:
                xcoms[task] = XComModel.deserialize_value(row)
    return str(run.state), xcoms


def test_a_full_local_store_frees_space_through_retention_and_backs_up(
    seed: KubeClient, bundled: dict[str, Any]
) -> None:
    project, name = "bk-local", "db"
    if seed.find(SHOOT_API_VERSION, "Shoot", name, naming.project_namespace(project)) is None:
        assert run(bundled, "garden_provision", project=project, name=name) == "success"
    uid = seed.get(SHOOT_API_VERSION, "Shoot", name, naming.project_namespace(project))["metadata"][
        "uid"
    ]
    store, capacity = local_store(seed, project, name)
    before = last_backup(seed, project, name)["snapshot"]
    old = fill_to_the_brim(store, capacity, uid=uid, days_old=40)  # past every Exponential tier
    try:
        state, xcoms = backup_report(bundled, project, name)
        keys = {i.key for i in store.list()}
        free = store.space(capacity).free
    finally:
        drop(store, old)  # the next test starts from a store with room, whatever happened

    assert state == "success", xcoms
    # Retention freed them; it ran first: with 1 MiB free no room check passes before it.
    assert sorted(xcoms["backup"]["deleted"]) == sorted(old)
    after = last_backup(seed, project, name)
    assert after["verified"] is True
    assert after["snapshot"] != before
    assert not any(k.startswith(tuple(old)) for k in keys)  # objects and manifests
    assert after["snapshot"] in keys
    assert before in keys  # the snapshots retention keeps stay
    assert free > capacity - 64 * MIB


def test_a_full_local_store_that_retention_cannot_free_fails_naming_store_and_sizes(
    seed: KubeClient, bundled: dict[str, Any]
) -> None:
    project, name = "bk-local", "db"
    if seed.find(SHOOT_API_VERSION, "Shoot", name, naming.project_namespace(project)) is None:
        assert run(bundled, "garden_provision", project=project, name=name) == "success"
    store, capacity = local_store(seed, project, name)
    before = last_backup(seed, project, name)["snapshot"]
    # A deleted shoot of the same name kept these: this shoot's retention may not touch them.
    kept = fill_to_the_brim(store, capacity, uid=str(uuid.uuid4()), days_old=40)
    try:
        state, xcoms = backup_report(bundled, project, name)

        assert state == "failed"
        [row] = xcoms["report"]["shoots"]
        assert row["outcome"] == "failed"
        assert (
            f"ERR_INFRA_QUOTA_EXCEEDED: snapshot store local /backups/{store.base.name} "
            in (row["reason"])
        )
        sizes = r"needs \d+(\.\d)?( MiB|Mi) \(etcd database .*\), free \d+(\.\d)?( MiB|Mi) \("
        assert re.search(sizes, row["reason"])
        assert f"of {format_size(capacity)} used" in row["reason"]
        assert last_backup(seed, project, name)["snapshot"] == before
        assert {k for k in kept} <= {i.key for i in store.list()}
    finally:
        drop(store, kept)


def test_a_larger_store_volume_is_refused_by_the_seeds_storage_class_naming_both_sizes(
    seed: KubeClient,
) -> None:
    """local-path (the local seed's StorageClass) does not allow volume expansion: the
    reconcile's backup component says so; a smaller size keeps the claim as it is."""
    project, name = "bk-local", "db"
    shoot = seed.get(SHOOT_API_VERSION, "Shoot", name, naming.project_namespace(project))
    spec = parse_shoot(shoot)
    cp, wanted = control_plane_of(spec), spec.backup
    assert wanted is not None
    _, capacity = local_store(seed, project, name)

    def deploy(size: int) -> None:
        store = dataclasses.replace(wanted.store, volume_size=size)
        backup = dataclasses.replace(wanted, store=store)
        BackupInfrastructure(seed, cp, backup, garden_namespace=DEFAULT_NAMESPACE).deploy()

    with pytest.raises(KnownCause) as refused:
        deploy(capacity + 256 * MIB)
    message = str(refused.value)
    assert refused.value.cause is Cause.INVALID_SPEC
    assert f"spec.backup.store.volumeSize {format_size(capacity + 256 * MIB)}" in message
    assert f"stays {format_size(capacity)}" in message
    assert "storageclass that provisions the pvc must support resize" in message

    deploy(capacity - 256 * MIB)  # a claim never shrinks: nothing to refuse
    _, after = local_store(seed, project, name)
    assert after == capacity
