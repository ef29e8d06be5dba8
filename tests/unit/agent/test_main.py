from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_garden import __version__
from airflow_provider_garden.agent import main as agent_main
from airflow_provider_garden.agent import result


def test_version_verb_writes_json_to_stdout_and_xcom_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    xcom = tmp_path / "xcom" / "return.json"
    xcom.parent.mkdir()
    monkeypatch.setattr(result, "XCOM_FILE", xcom)
    monkeypatch.setattr(result, "TERMINATION_LOG", tmp_path / "absent" / "termination-log")

    assert agent_main.main(["version"]) == 0

    printed = json.loads(capsys.readouterr().out)
    assert printed["agent"] == __version__
    assert json.loads(xcom.read_text()) == printed


def test_termination_message_skipped_when_over_kubelet_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "termination-log"
    monkeypatch.setattr(result, "TERMINATION_LOG", log)
    monkeypatch.setattr(result, "XCOM_FILE", tmp_path / "absent" / "x.json")
    result.emit({"big": "x" * 5000})
    assert not log.exists()
    result.emit({"small": 1})
    assert json.loads(log.read_text()) == {"small": 1}
