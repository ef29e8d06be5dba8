from __future__ import annotations

import base64

import pytest
import yaml

from airflow_provider_garden.core.kubeconfig import render_kubeconfig

ARGS = {
    "cluster_name": "shoot--team-a--dev",
    "server": "https://kube-apiserver.shoot--team-a--dev.svc:443",
    "ca_pem": b"-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n",
    "client_cert_pem": b"CERT",
    "client_key_pem": b"KEY",
    "user": "shoot--team-a--dev-admin",
}


def test_renders_a_parseable_kubeconfig() -> None:
    doc = yaml.safe_load(render_kubeconfig(**ARGS))  # type: ignore[arg-type]
    assert doc["apiVersion"] == "v1"
    assert doc["kind"] == "Config"
    assert doc["current-context"] == "shoot--team-a--dev"
    (cluster,) = doc["clusters"]
    assert cluster["name"] == "shoot--team-a--dev"
    assert cluster["cluster"]["server"] == ARGS["server"]
    assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]) == ARGS["ca_pem"]
    (user,) = doc["users"]
    assert user["name"] == "shoot--team-a--dev-admin"
    assert base64.b64decode(user["user"]["client-certificate-data"]) == b"CERT"
    assert base64.b64decode(user["user"]["client-key-data"]) == b"KEY"
    (context,) = doc["contexts"]
    assert context == {
        "name": "shoot--team-a--dev",
        "context": {"cluster": "shoot--team-a--dev", "user": "shoot--team-a--dev-admin"},
    }


@pytest.mark.parametrize("name", ['we"ird: #name', "key: value\n- x", "ünïcode", "yes", "123"])
def test_odd_names_stay_strings(name: str) -> None:
    doc = yaml.safe_load(render_kubeconfig(**{**ARGS, "cluster_name": name, "user": name}))  # type: ignore[arg-type]
    assert doc["clusters"][0]["name"] == name
    assert doc["users"][0]["name"] == name
    assert doc["current-context"] == name


@pytest.mark.parametrize("server", ["http://10.0.0.1:6443", "10.0.0.1:6443", ""])
def test_rejects_non_https_server(server: str) -> None:
    with pytest.raises(ValueError, match="https://"):
        render_kubeconfig(**{**ARGS, "server": server})  # type: ignore[arg-type]
