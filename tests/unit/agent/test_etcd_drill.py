"""The drill verb on a real local store with the process layer faked: etcdutl and
etcdctl answer as a restored etcd would, and `etcd` is a real (sleeping) process the
drill must start and always stop."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import subprocess
from pathlib import Path
from typing import IO, Any

import pytest

from airflow_provider_garden.agent import etcd_drill, etcd_restore
from airflow_provider_garden.core.retention import snapshot_name
from airflow_provider_garden.core.status import DrillState
from airflow_provider_garden.snapstore.local import LocalStore
from airflow_provider_garden.snapstore.manifest import Manifest, read_manifest, write_manifest

CREATED = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)
OWN = "aaaaaaaa-1111-4000-8000-000000000001"
REVISION = 4242
KEYS = [
    "/registry/namespaces/default",
    "/registry/namespaces/db",
    *(f"/registry/configmaps/db/cm-{i:04}" for i in range(1000)),
]


def _store(tmp_path: Path) -> LocalStore:
    root = tmp_path / "store"
    root.mkdir()
    return LocalStore(root=root, prefix="shoot--p--s")


def _snapshot(store: LocalStore, revision: int = REVISION, body: bytes = b"bbolt bytes") -> str:
    name = snapshot_name(0, revision, CREATED, compressed=False)
    store.save(name, io.BytesIO(body))
    manifest = Manifest.for_snapshot(
        name,
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        etcd_version="3.5.16",
        shoot_uid=OWN,
    )
    write_manifest(store, dataclasses.replace(manifest, verified=True))
    return name


class FakeEtcdTools:
    """etcdutl/etcdctl answers; a real `sleep` stands in for the etcd server."""

    def __init__(self, tmp_path: Path, *, served: int = REVISION, keys: list[str] = KEYS) -> None:
        self.served = served
        self.keys = keys
        self.calls: list[list[str]] = []
        self.processes: list[subprocess.Popen[bytes]] = []
        self.started: list[list[str]] = []
        script = tmp_path / "fake-etcd"
        script.write_text("#!/bin/sh\nexec sleep 60\n")
        script.chmod(0o755)
        self.etcd = str(script)

    def run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        self.calls.append(argv)
        if argv[:3] == ["etcdutl", "snapshot", "restore"]:
            target = Path(next(a for a in argv if a.startswith("--data-dir=")).split("=", 1)[1])
            (target / "member").mkdir(parents=True)
            return subprocess.CompletedProcess(argv, 0, "", "")
        verb = [a for a in argv[1:] if not a.startswith("--")]
        if verb[:2] == ["endpoint", "health"]:
            return subprocess.CompletedProcess(argv, 0, "healthy", "")
        if verb[:2] == ["endpoint", "status"]:
            status = [{"Status": {"header": {"revision": self.served}}}]
            return subprocess.CompletedProcess(argv, 0, json.dumps(status), "")
        if verb[:1] == ["get"]:
            return subprocess.CompletedProcess(argv, 0, "\n\n".join(self.keys) + "\n", "")
        raise AssertionError(f"unexpected command {argv}")

    def start(self, argv: list[str], output: IO[bytes]) -> subprocess.Popen[bytes]:
        self.started.append(argv)
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def tools(self) -> etcd_drill.Tools:
        return etcd_drill.Tools(etcd=self.etcd, run=self.run, start=self.start)


@pytest.fixture(autouse=True)
def status_of_fetched_db(monkeypatch: pytest.MonkeyPatch) -> None:
    """`etcdutl snapshot status` of the fetched file: the manifest's revision."""
    monkeypatch.setattr(etcd_restore, "snapshot_status", lambda db: {"revision": REVISION})


def _drill(store: LocalStore, tmp_path: Path, fake: FakeEtcdTools) -> etcd_drill.DrillOutcome:
    return etcd_drill.drill(
        store, shoot_uid=OWN, work=tmp_path / "work", tools=fake.tools(), now=lambda: NOW
    )


def test_a_healthy_snapshot_passes_with_its_counts_and_etcd_is_stopped(tmp_path: Path) -> None:
    store = _store(tmp_path)
    name = _snapshot(store)
    fake = FakeEtcdTools(tmp_path)
    outcome = _drill(store, tmp_path, fake)
    record = outcome.record
    assert record.state is DrillState.SUCCEEDED, record.description
    assert (record.snapshot, record.revision, record.objects) == (name, REVISION, 1002)
    assert outcome.objects == {"configmaps": 1000, "namespaces": 2}
    assert record.time == NOW
    (process,) = fake.processes
    assert process.poll() is not None, "the scratch etcd outlived the drill"
    # The scratch etcd serves the directory etcdutl restored, on the peer URL it was given.
    (argv,) = fake.started
    restore = next(c for c in fake.calls if c[:2] == ["etcdutl", "snapshot"])
    peer = next(a for a in argv if a.startswith("--initial-cluster="))
    assert peer in restore
    left = {p.name for p in (tmp_path / "work").iterdir()}
    assert left == {"drill-etcd.log"}, "the snapshot copy or restored data left behind"
    assert outcome.to_result()["objectsByResource"]["configmaps"] == 1000


def test_a_corrupted_snapshot_fails_naming_the_sha256_mismatch(tmp_path: Path) -> None:
    store = _store(tmp_path)
    name = _snapshot(store, body=b"bbolt bytes")
    store.save(name, io.BytesIO(b"bbolt BYTES"))  # same size: only the hash can tell
    fake = FakeEtcdTools(tmp_path)
    record = _drill(store, tmp_path, fake).record
    assert record.state is DrillState.FAILED
    assert record.snapshot == name
    assert "sha256" in record.description
    assert "differs from the manifest" in record.description
    assert fake.started == [], "a corrupted snapshot must never be served"
    assert not read_manifest(store, name).verified  # the next drill takes an older good one


def test_a_revision_mismatch_fails_naming_both_revisions(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _snapshot(store)
    fake = FakeEtcdTools(tmp_path, served=REVISION - 1)
    record = _drill(store, tmp_path, fake).record
    assert record.state is DrillState.FAILED
    assert str(REVISION) in record.description
    assert str(REVISION - 1) in record.description
    assert record.revision == REVISION - 1
    assert record.objects == 1002
    assert fake.processes[0].poll() is not None


def test_no_good_snapshot_fails_naming_why(tmp_path: Path) -> None:
    fake = FakeEtcdTools(tmp_path)
    record = _drill(_store(tmp_path), tmp_path, fake).record
    assert record.state is DrillState.FAILED
    assert record.snapshot is None
    assert "no good snapshot" in record.description


def test_an_etcd_that_exits_fails_with_its_log_and_reads_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _snapshot(store)
    fake = FakeEtcdTools(tmp_path)
    Path(fake.etcd).write_text(
        "#!/bin/sh\necho 'member etcd-0 has already been bootstrapped'\nexit 2\n"
    )

    def never_healthy(argv: list[str]) -> subprocess.CompletedProcess[str]:
        if "health" in argv:
            return subprocess.CompletedProcess(argv, 1, "", "connection refused")
        return fake.run(argv)

    tools = dataclasses.replace(fake.tools(), run=never_healthy)
    record = etcd_drill.drill(
        store, shoot_uid=OWN, work=tmp_path / "work", tools=tools, now=lambda: NOW
    ).record
    assert record.state is DrillState.FAILED
    assert "exited with status 2" in record.description
    assert "already been bootstrapped" in record.description
    assert not any("get" in c for c in fake.calls)


class _Seed:
    """The seed as the verb writes to it: the status patches it receives."""

    def __init__(self) -> None:
        self.patches: list[tuple[str, str, str | None, dict[str, Any]]] = []

    def merge_patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        patch: dict[str, Any],
        namespace: str | None = None,
        *,
        subresource: str | None = None,
    ) -> dict[str, Any]:
        self.patches.append((f"{kind}/{namespace}/{name}", api_version, subresource, patch))
        return {}


def _verb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: LocalStore, fake: FakeEtcdTools
) -> tuple[_Seed, list[str]]:
    from airflow_provider_garden.agent import result
    from airflow_provider_garden.kube.client import KubeClient

    seed = _Seed()
    monkeypatch.setattr(KubeClient, "from_kubeconfig", classmethod(lambda cls, path=None: seed))
    monkeypatch.setattr(result, "TERMINATION_LOG", tmp_path / "termination-log")
    monkeypatch.setattr(result, "XCOM_FILE", tmp_path / "absent" / "return.json")
    # The verb's own Tools (real subprocess calls) replaced by the fake, etcd path kept.
    seen: list[str] = []
    faked = fake.tools()  # built before Tools is replaced

    def tools(*, etcd: str) -> etcd_drill.Tools:
        seen.append(etcd)
        return faked

    monkeypatch.setattr(etcd_drill, "Tools", tools)
    argv = [
        "etcd", "drill", "--store-kind", "local", "--store-root", str(store.root),
        "--prefix", "shoot--p--s", "--shoot-uid", OWN, "--project", "p", "--name", "s",
        "--work-dir", str(tmp_path / "work"), "--etcd-bin", "/opt/etcd",
    ]  # fmt: skip
    from airflow_provider_garden.agent import main as agent_main

    assert agent_main.main(argv) == 0
    return seed, seen


def test_the_verb_records_a_passed_drill_on_its_shoots_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(tmp_path)
    _snapshot(store)
    seed, etcd_paths = _verb(tmp_path, monkeypatch, store, FakeEtcdTools(tmp_path))
    assert etcd_paths == ["/opt/etcd"]
    ((where, _, subresource, patch),) = seed.patches
    assert (where, subresource) == ("Shoot/garden-p/s", "status")
    assert patch["status"]["lastRestoreDrill"]["state"] == "Succeeded"
    assert patch["status"]["lastRestoreDrill"]["objects"] == 1002


def test_the_verb_records_a_failed_drill_then_exits_naming_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(tmp_path)
    name = _snapshot(store, body=b"bbolt bytes")
    store.save(name, io.BytesIO(b"bbolt BYTES"))
    with pytest.raises(SystemExit, match=r"p/s failed: .*sha256"):
        _verb(tmp_path, monkeypatch, store, FakeEtcdTools(tmp_path))
    written = json.loads((tmp_path / "termination-log").read_text())
    assert written["state"] == "Failed"
    assert written["snapshot"] == name
