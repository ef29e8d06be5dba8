"""The agent's kubectl: configured, else the venv's (the seed's build), else PATH's."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from airflow_provider_garden.agent import tools


def test_configured_kubectl_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GARDEN_KUBECTL", "/cache/bin/kubernetes-v1.32.13/kubectl")
    assert tools.kubectl() == "/cache/bin/kubernetes-v1.32.13/kubectl"


def test_the_venvs_kubectl_before_the_machines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GARDEN_KUBECTL", raising=False)
    (tmp_path / "kubectl").touch()
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    assert tools.kubectl() == str(tmp_path / "kubectl")


def test_path_only_where_no_venv_kubectl_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The toolbox image: /opt/garden/bin/python, kubectl in /usr/local/bin."""
    monkeypatch.delenv("GARDEN_KUBECTL", raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    assert tools.kubectl() == "kubectl"
