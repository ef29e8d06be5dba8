"""`garden` against an in-memory seed (tests/cli_seed.py): only the kube client is faked."""

from __future__ import annotations

import pytest
from cli_seed import FakeKube  # tests/ is on sys.path (tests/conftest.py)

from airflow_provider_garden.kube.client import KubeClient


@pytest.fixture
def seed(monkeypatch: pytest.MonkeyPatch) -> FakeKube:
    """The seed every `garden` command in the test talks to (whatever --kubeconfig says)."""
    fake = FakeKube()
    monkeypatch.setattr(KubeClient, "from_kubeconfig", classmethod(lambda cls, path: fake))
    return fake
