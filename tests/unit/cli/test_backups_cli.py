"""`garden backups ls`: the agent pod's listing as a table, wide, JSON or YAML.

The listing pod is answered by the in-memory seed (tests/cli_seed.py) with what
`garden-agent etcd ls` returns.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from cli_seed import FakeKube, project, shoot

from airflow_provider_garden.cli.main import main
from airflow_provider_garden.core.retention import snapshot_name

CREATED = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
OLD = snapshot_name(1, 100, CREATED, compressed=False, nonce="0000000a")
NEW = snapshot_name(101, 250, CREATED + dt.timedelta(hours=1), compressed=True, nonce="0000000b")
LISTING = {
    "count": 3,
    "snapshots": [
        {"key": OLD, "good": True, "problem": None, "shootUID": None},
        {"key": "Backup-1/junk", "good": False, "problem": "not a snapshot name", "shootUID": None},
        {"key": NEW, "good": True, "problem": None, "shootUID": "uid-dev"},
    ],
}


@pytest.fixture
def backed_up(seed: FakeKube) -> FakeKube:
    seed.put(project("demo"))
    dev = shoot("demo", "dev", lastBackup={"snapshot": NEW, "verified": True})
    dev["spec"]["backup"] = {"store": {"kind": "local"}}
    seed.put(dev)
    seed.pod_results.append(("Succeeded", json.dumps(LISTING)))
    return seed


@pytest.mark.usefixtures("backed_up")
def test_a_table_of_the_snapshots_under_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backups", "ls", "demo/dev"]) == 0
    summary, header, *rows = capsys.readouterr().out.splitlines()
    assert summary == (
        f"3 snapshot(s) of demo/dev (UID uid-dev), the newest 3 listed; newest good recorded: {NEW}"
    )
    assert header.split() == ["STATUS", "SNAPSHOT", "UID", "PROBLEM"]
    assert [r.split()[:3] for r in rows] == [
        ["good", OLD, "unmarked"],
        ["BAD", "Backup-1/junk", "unmarked"],
        ["good", NEW, "uid-dev"],
    ]
    assert rows[1].endswith("not a snapshot name")


@pytest.mark.usefixtures("backed_up")
def test_wide_reads_age_revision_and_compression_from_the_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["backups", "ls", "demo/dev", "-o", "wide"]) == 0
    _, header, old, junk, new = capsys.readouterr().out.splitlines()
    assert header.split()[-4:] == ["AGE", "REVISION", "GZIP", "RECORDED"]
    assert old.split()[-3:] == ["100", "no", "no"]
    assert junk.split()[-4:] == ["-", "-", "-", "no"]
    assert new.split()[-3:] == ["250", "yes", "yes"]


@pytest.mark.usefixtures("backed_up")
def test_json_has_every_field_and_no_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backups", "ls", "demo/dev", "-o", "json"]) == 0
    items = json.loads(capsys.readouterr().out)["items"]
    assert items[2] == {
        "project": "demo",
        "name": "dev",
        "key": NEW,
        "good": True,
        "problem": None,
        "shootUID": "uid-dev",
        "created": "2026-12-01T01:00:00+00:00",
        "endRevision": 250,
        "compressed": True,
        "recorded": True,
    }


def test_a_failed_listing_pod_is_one_line(
    backed_up: FakeKube, capsys: pytest.CaptureFixture[str]
) -> None:
    backed_up.pod_results[:] = [("Failed", "snapstore: no such volume\n  at /snapshots")]
    assert main(["backups", "ls", "demo/dev", "-o", "json"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "garden: error: listing demo/dev's snapshots failed: pod shoot--demo--dev/garden-backups-ls-"
    )
    assert err.endswith("no such volume at /snapshots\n")
    assert err.count("\n") == 1


@pytest.mark.usefixtures("backed_up")
def test_no_deleted_shoot_is_an_empty_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backups", "ls", "--deleted", "demo/dev", "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"items": []}
    assert main(["backups", "ls", "--deleted", "demo/dev"]) == 0
    assert capsys.readouterr().out == "no deleted shoot named demo/dev has kept snapshots\n"
