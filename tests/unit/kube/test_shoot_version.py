"""Shoots.set_kubernetes_version refuses a version the schema refuses, before any request."""

from __future__ import annotations

import pytest
from kubernetes import client as k8s_client

from airflow_provider_garden.core.spec_fields import SpecError
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.shoots import Shoots


def _no_request(delay: float) -> None:
    raise AssertionError("a request was sent (its retry was about to wait)")


def test_a_bad_version_is_refused_naming_field_and_rule() -> None:
    # A real client at a closed port: any request fails and asks to wait, which fails.
    api = k8s_client.ApiClient(k8s_client.Configuration(host="http://127.0.0.1:1"))
    shoots = Shoots(KubeClient(api_client=api, sleep=_no_request, timeout=1.0))
    with pytest.raises(SpecError, match=r"spec.kubernetes.version: '1.32' must be a version"):
        shoots.set_kubernetes_version("team-a", "dev", "1.32")
    with pytest.raises(AssertionError, match="a request was sent"):
        shoots.set_kubernetes_version("team-a", "dev", "1.32.3")  # a good one is sent
