"""`garden` follows kubectl's conventions: lists as a table or as JSON/YAML, a failure as
one line on stderr with status 1 (usage errors 2), never a traceback."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
import yaml
from cli_seed import FakeKube, project, shoot

from airflow_provider_garden.cli.main import failure_line, main
from airflow_provider_garden.cli.output import age, emit
from airflow_provider_garden.kube.agent_pod import AgentPodError
from airflow_provider_garden.kube.errors import Forbidden

ITEMS = [
    {"name": "dev", "version": "1.32.13", "state": "Succeeded"},
    {"name": "prod", "version": "1.32.11", "state": None},
]
COLUMNS = {"name": "NAME", "version": "VERSION", "state": "STATE"}


def test_a_list_prints_as_a_table_json_or_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    emit(ITEMS, COLUMNS, "table")
    assert capsys.readouterr().out.splitlines() == [
        "NAME  VERSION  STATE",
        "dev   1.32.13  Succeeded",
        "prod  1.32.11  -",
    ]
    emit(ITEMS, COLUMNS, "json")
    assert json.loads(capsys.readouterr().out) == {"items": ITEMS}
    emit(ITEMS, COLUMNS, "yaml")
    assert yaml.safe_load(capsys.readouterr().out) == {"items": ITEMS}


def test_a_missing_kubeconfig_is_one_line_and_status_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.kubeconfig"
    assert main(["--kubeconfig", str(missing), "shoots", "ls", "-o", "json"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"garden: error: kubeconfig {missing}: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_a_usage_error_is_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["shoots", "ls", "-o", "xml"])
    assert exit_.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


def test_an_api_refusal_reads_as_the_servers_message() -> None:
    err = Forbidden(
        {"code": 403, "reason": "Forbidden", "message": 'shoots is forbidden:\n user "u"'}
    )
    assert failure_line(err, kubeconfig="k") == '403 Forbidden: shoots is forbidden: user "u"'


def test_wide_adds_columns_and_json_carries_every_field(
    seed: FakeKube, capsys: pytest.CaptureFixture[str]
) -> None:
    seed.put(project("team-a"))
    seed.put(
        shoot(
            "team-a",
            "dev",
            workers={
                "pool-a": {
                    "machines": 3,
                    "ready": 2,
                    "image": {"name": "gardenlinux", "version": "1592.2"},
                }
            },
            lastBackup={"snapshot": "Full-1", "created": "2026-12-01T00:00:00Z", "verified": True},
        )
    )
    seed.put(shoot("team-a", "new"))
    assert main(["shoots", "ls", "-o", "wide"]) == 0
    header, dev, new = capsys.readouterr().out.splitlines()
    assert header.split()[-5:] == ["CONTROLPLANE", "UID", "WORKERS", "BACKUP", "AGE"]
    assert dev.split()[-5:-2] == ["shoot--team-a--dev", "uid-dev", "pool-a=gardenlinux/1592.2:2/3"]
    assert re.fullmatch(r"\d+[smhd]", dev.split()[-1])
    assert new.split()[-3:-1] == ["pool-a=gardenlinux/1592.2:?", "-"]  # no status yet

    assert main(["shoots", "ls"]) == 0
    assert "UID" not in capsys.readouterr().out  # the plain table stays narrow

    assert main(["shoots", "ls", "-o", "json"]) == 0
    [dev_item, _] = json.loads(capsys.readouterr().out)["items"]
    assert dev_item["uid"] == "uid-dev"
    assert dev_item["workers"] == [
        {
            "name": "pool-a",
            "image": "gardenlinux/1592.2",
            "minimum": 1,
            "maximum": 3,
            "ready": 2,
            "machines": 3,
        }
    ]
    assert dev_item["lastBackup"].startswith("2026-12-01T00:00:00")

    assert main(["projects", "ls", "-o", "wide"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split()[-4:] == ["NAMESPACE", "SHOOTS", "UID", "AGE"]
    assert row.split()[-4:-1] == ["garden-team-a", "2", "uid-team-a"]


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0s"), (119, "119s"), (120, "2m"), (7199, "119m"), (7200, "2h"), (3 * 86400, "3d")],
)
def test_age_reads_as_kubectls(seconds: int, shown: str) -> None:
    now = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
    assert age(now - dt.timedelta(seconds=seconds), now=now) == shown
    assert age("2026-12-06T00:00:00Z", now=now) == "24h"


def test_a_failed_agent_pod_reads_as_its_output_on_one_line() -> None:
    err = AgentPodError(
        "listing demo/dev's snapshots failed: pod garden-backups-ls:\n  no such bucket"
    )
    assert failure_line(err, kubeconfig="k") == (
        "listing demo/dev's snapshots failed: pod garden-backups-ls: no such bucket"
    )
