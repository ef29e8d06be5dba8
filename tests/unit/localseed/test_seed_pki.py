"""The seed's certificates: who they name, what they allow, and that they are kept."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from airflow_provider_garden.localseed.config import Layout
from airflow_provider_garden.localseed.paths import SeedPaths
from airflow_provider_garden.localseed.pki import ensure_pki


def _cert(layout: Layout, name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(layout.pki(f"{name}.crt").read_bytes())


def _layout(tmp_path: Path) -> Layout:
    return Layout(paths=SeedPaths(cache=tmp_path / "cache", state=tmp_path / "state"))


def test_apiserver_certificate_names_every_address_clients_use(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    ensure_pki(layout)
    sans = (
        _cert(layout, "apiserver")
        .extensions.get_extension_for_class(x509.SubjectAlternativeName)
        .value
    )
    ips = {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}
    assert {"10.200.0.1", "10.96.0.1", "127.0.0.1"} <= ips
    assert {
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "localhost",
    } <= set(sans.get_values_for_type(x509.DNSName))


def test_client_certificates_carry_the_kubernetes_identities(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    ensure_pki(layout)

    def subject(name: str) -> tuple[str, list[str]]:
        cert = _cert(layout, name)
        cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        orgs = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
        return str(cn), [str(o) for o in orgs]

    assert subject("admin")[1] == ["system:masters"]
    assert subject("kubelet") == ("system:node:garden-seed", ["system:nodes"])
    assert subject("controller-manager")[0] == "system:kube-controller-manager"
    assert subject("scheduler")[0] == "system:kube-scheduler"
    assert subject("kube-proxy")[0] == "system:kube-proxy"
    usage = _cert(layout, "kubelet").extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert ExtendedKeyUsageOID.SERVER_AUTH in usage.value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in usage.value


def test_front_proxy_client_comes_from_its_own_ca(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    ensure_pki(layout)
    front_proxy_ca = _cert(layout, "front-proxy-ca").subject
    assert front_proxy_ca not in (_cert(layout, "ca").subject, _cert(layout, "etcd-ca").subject)
    assert _cert(layout, "front-proxy-client").issuer == front_proxy_ca


def test_etcd_certificates_come_from_their_own_ca(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    ensure_pki(layout)
    etcd_ca = _cert(layout, "etcd-ca").subject
    cluster_ca = _cert(layout, "ca").subject
    assert etcd_ca != cluster_ca
    assert _cert(layout, "etcd-server").issuer == etcd_ca
    assert _cert(layout, "apiserver-etcd-client").issuer == etcd_ca
    assert _cert(layout, "admin").issuer == cluster_ca
    server_ips = (
        _cert(layout, "etcd-server")
        .extensions.get_extension_for_class(x509.SubjectAlternativeName)
        .value.get_values_for_type(x509.IPAddress)
    )
    assert ipaddress.ip_address("127.0.0.1") in server_ips


def test_second_run_keeps_keys_and_kubeconfigs(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    ensure_pki(layout)
    before = {p: p.read_bytes() for p in layout.paths.state.rglob("*") if p.is_file()}
    ensure_pki(layout)
    after = {p: p.read_bytes() for p in layout.paths.state.rglob("*") if p.is_file()}
    assert before == after
    assert oct(layout.pki("ca.key").stat().st_mode & 0o777) == "0o600"
    assert oct(layout.paths.kubeconfig.stat().st_mode & 0o777) == "0o600"


def test_kubeconfigs_point_at_the_bridge_address(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    ensure_pki(layout)
    for path in (layout.paths.kubeconfig, layout.kubeconfig("kubelet")):
        conf = yaml.safe_load(path.read_text())
        assert conf["clusters"][0]["cluster"]["server"] == "https://10.200.0.1:6443"


def test_missing_leaf_is_reissued_alone(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    ensure_pki(layout)
    ca = layout.pki("ca.crt").read_bytes()
    admin = layout.pki("admin.crt").read_bytes()
    layout.pki("scheduler.crt").unlink()
    ensure_pki(layout)
    assert layout.pki("scheduler.crt").exists()
    assert layout.pki("ca.crt").read_bytes() == ca
    assert layout.pki("admin.crt").read_bytes() == admin
