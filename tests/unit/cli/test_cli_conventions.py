"""`garden` follows kubectl's conventions: lists as a table or as JSON/YAML, a failure as
one line on stderr with status 1 (usage errors 2), never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from airflow_provider_garden.cli.main import failure_line, main
from airflow_provider_garden.cli.output import emit
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
