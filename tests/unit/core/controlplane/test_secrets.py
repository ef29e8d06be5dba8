from __future__ import annotations

import base64
import datetime as dt

import pytest
import yaml
from cryptography import x509

from airflow_provider_garden.core.controlplane.encryption import key_name
from airflow_provider_garden.core.controlplane.secrets import (
    ENCRYPTION_FILE,
    ENCRYPTION_SECRET,
    Endpoints,
    admin_kubeconfigs,
    encryption_config,
    plan_secrets,
)

NOW = dt.datetime.now(dt.UTC)
EP = Endpoints(
    namespace="shoot--team-a--dev",
    apiserver_cluster_ip="10.96.12.34",
    shoot_kubernetes_ip="100.64.0.1",
    external_server="https://10.96.12.34",
)


def _sans(cert_pem: bytes) -> tuple[set[str], set[str]]:
    san = (
        x509.load_pem_x509_certificate(cert_pem)
        .extensions.get_extension_for_class(x509.SubjectAlternativeName)
        .value
    )
    return set(san.get_values_for_type(x509.DNSName)), {
        str(i) for i in san.get_values_for_type(x509.IPAddress)
    }


def test_first_reconcile_issues_everything_from_one_new_ca() -> None:
    out = plan_secrets({}, EP, now=NOW)
    assert set(out) >= {
        "ca",
        "etcd-server",
        "etcd-client",
        "kube-apiserver-tls",
        "admin",
        "service-account-key",
        "kube-controller-manager-kubeconfig",
        "kube-scheduler-kubeconfig",
    }
    ca = x509.load_pem_x509_certificate(out["ca"]["tls.crt"])
    for name in ("etcd-server", "kube-apiserver-tls", "admin"):
        leaf = x509.load_pem_x509_certificate(out[name]["tls.crt"])
        assert leaf.issuer == ca.subject
        leaf.verify_directly_issued_by(ca)
    dns, ips = _sans(out["kube-apiserver-tls"]["tls.crt"])
    assert "kube-apiserver.shoot--team-a--dev.svc" in dns
    assert {"10.96.12.34", "100.64.0.1"} <= ips


def test_second_reconcile_changes_nothing() -> None:
    first = plan_secrets({}, EP, now=NOW)
    assert plan_secrets(first, EP, now=NOW) == {}


def test_new_apiserver_ip_reissues_only_the_serving_cert() -> None:
    first = plan_secrets({}, EP, now=NOW)
    moved = Endpoints(
        namespace=EP.namespace,
        apiserver_cluster_ip="10.96.99.1",
        shoot_kubernetes_ip=EP.shoot_kubernetes_ip,
        external_server=EP.external_server,
    )
    out = plan_secrets(first, moved, now=NOW)
    assert set(out) == {"kube-apiserver-tls"}
    assert "10.96.99.1" in _sans(out["kube-apiserver-tls"]["tls.crt"])[1]


def test_certificates_near_expiry_are_renewed() -> None:
    first = plan_secrets({}, EP, now=NOW)
    out = plan_secrets(first, EP, now=NOW + dt.timedelta(days=340))
    assert "etcd-server" in out
    assert "ca" not in out


def test_admin_kubeconfigs_point_inside_and_outside_the_seed() -> None:
    secrets = plan_secrets({}, EP, now=NOW)
    data = admin_kubeconfigs(secrets, EP)
    assert b"https://kube-apiserver.shoot--team-a--dev.svc" in data["kubeconfig"]
    assert b"https://10.96.12.34" in data["kubeconfig-external"]


def test_the_encryption_key_is_issued_once_and_kept() -> None:
    first = plan_secrets({}, EP, now=NOW)
    config = yaml.safe_load(first[ENCRYPTION_SECRET][ENCRYPTION_FILE])
    [resource] = config["resources"]
    assert resource["resources"] == ["secrets"]
    aescbc, identity = resource["providers"]
    [key] = aescbc["aescbc"]["keys"]
    assert len(base64.b64decode(key["secret"])) == 32
    assert key["name"] == key_name(base64.b64decode(key["secret"]))  # never a shared name
    assert identity == {"identity": {}}  # Secrets written before it still read
    assert ENCRYPTION_SECRET not in plan_secrets(first, EP, now=NOW)  # never a second key


def test_a_key_is_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes, not 16"):
        encryption_config(b"x" * 16)
