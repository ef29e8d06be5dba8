from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import tempfile
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store

from airflow_provider_garden.core import pki


@pytest.fixture(scope="module")
def ca() -> pki.KeyPair:
    return pki.new_ca("shoot--team-a--dev-ca")


def test_ca_is_a_self_signed_ca(ca: pki.KeyPair) -> None:
    cert = ca.certificate()
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "shoot--team-a--dev-ca"
    )
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical
    assert bc.value.ca
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.key_cert_sign
    assert ku.crl_sign
    cert.verify_directly_issued_by(cert)
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    days = (cert.not_valid_after_utc - cert.not_valid_before_utc).days
    assert 3650 <= days <= 3651


@pytest.mark.parametrize(
    ("server", "client", "expected"),
    [
        (True, False, [ExtendedKeyUsageOID.SERVER_AUTH]),
        (False, True, [ExtendedKeyUsageOID.CLIENT_AUTH]),
        (True, True, [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
    ],
)
def test_extended_key_usage(
    ca: pki.KeyPair, server: bool, client: bool, expected: list[x509.ObjectIdentifier]
) -> None:
    leaf = pki.issue(
        ca, pki.LeafSpec(common_name="x", dns_names=("x",), server=server, client=client)
    )
    eku = leaf.certificate().extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == expected


def test_server_cert_chain_and_sans(ca: pki.KeyPair) -> None:
    leaf = pki.issue(
        ca,
        pki.LeafSpec(
            common_name="kube-apiserver",
            dns_names=("kube-apiserver", "kubernetes.default.svc.cluster.local"),
            ip_addresses=("10.96.0.1", "127.0.0.1", "::1"),
            server=True,
        ),
    )
    cert = leaf.certificate()
    cert.verify_directly_issued_by(ca.certificate())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [
        "kube-apiserver",
        "kubernetes.default.svc.cluster.local",
    ]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("10.96.0.1"),
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature
    assert not ku.key_cert_sign
    ca_ski = ca.certificate().extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ca_ski.value.digest
    # webpki-style path validation (stricter than Go's): chain, EKU, SAN match.
    verifier = (
        PolicyBuilder()
        .store(Store([ca.certificate()]))
        .build_server_verifier(x509.DNSName("kubernetes.default.svc.cluster.local"))
    )
    chain = verifier.verify(cert, [])
    assert chain[-1] == ca.certificate()
    ip_verifier = (
        PolicyBuilder()
        .store(Store([ca.certificate()]))
        .build_server_verifier(x509.IPAddress(ipaddress.ip_address("10.96.0.1")))
    )
    ip_verifier.verify(cert, [])


def test_client_cert_carries_groups_and_verifies(ca: pki.KeyPair) -> None:
    leaf = pki.issue(
        ca,
        pki.LeafSpec(
            common_name="garden:admin", organizations=("system:masters", "ops"), client=True
        ),
    )
    cert = leaf.certificate()
    orgs = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    assert orgs == ["system:masters", "ops"]
    # Kubernetes client certs carry no SAN (Go does not need one), which webpki's client
    # verifier insists on; check the signature here and the chain in the handshake test.
    cert.verify_directly_issued_by(ca.certificate())


def test_leaf_from_another_ca_does_not_verify(ca: pki.KeyPair) -> None:
    other = pki.new_ca("other")
    leaf = pki.issue(other, pki.LeafSpec(common_name="s", dns_names=("s",), server=True))
    verifier = (
        PolicyBuilder().store(Store([ca.certificate()])).build_server_verifier(x509.DNSName("s"))
    )
    with pytest.raises(x509.verification.VerificationError):
        verifier.verify(leaf.certificate(), [])


def test_key_matches_certificate(ca: pki.KeyPair) -> None:
    leaf = pki.issue(
        ca, pki.LeafSpec(common_name="etcd", dns_names=("etcd",), server=True, client=True)
    )
    key = serialization.load_pem_private_key(leaf.key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.public_key() == leaf.certificate().public_key()
    assert leaf.key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")


def test_leaf_never_outlives_its_ca() -> None:
    short_ca = pki.new_ca("short", valid_days=2)
    leaf = pki.issue(short_ca, pki.LeafSpec(common_name="c", client=True), valid_days=365)
    assert leaf.certificate().not_valid_after_utc == short_ca.certificate().not_valid_after_utc


def test_serials_are_unique(ca: pki.KeyPair) -> None:
    serials = {
        pki.issue(ca, pki.LeafSpec(common_name="c", client=True)).certificate().serial_number
        for _ in range(20)
    }
    assert len(serials) == 20


@pytest.mark.parametrize(
    ("spec", "valid_days", "message"),
    [
        (pki.LeafSpec(common_name="x"), 365, "server=True and/or client=True"),
        (pki.LeafSpec(common_name="x", server=True), 365, "needs dns_names or ip_addresses"),
        (pki.LeafSpec(common_name="x", client=True), 0, "valid_days"),
        (pki.LeafSpec(common_name="x", client=True, ip_addresses=("not-an-ip",)), 365, "not-an-ip"),
    ],
)
def test_issue_rejects_bad_requests(
    ca: pki.KeyPair, spec: pki.LeafSpec, valid_days: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        pki.issue(ca, spec, valid_days=valid_days)


def test_service_account_key_pair_signs_and_verifies() -> None:
    private_pem, public_pem = pki.new_service_account_key()
    key = serialization.load_pem_private_key(private_pem, password=None)
    public = serialization.load_pem_public_key(public_pem)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert isinstance(public, rsa.RSAPublicKey)
    assert key.key_size == 2048
    assert public_pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    signature = key.sign(b"token", padding.PKCS1v15(), hashes.SHA256())
    public.verify(signature, b"token", padding.PKCS1v15(), hashes.SHA256())


def test_mutual_tls_handshake_with_openssl(ca: pki.KeyPair) -> None:
    """A real TLS 1.3 handshake: server checks the client cert, client checks the SAN."""
    server = pki.issue(
        ca, pki.LeafSpec(common_name="apiserver", dns_names=("localhost",), server=True)
    )
    client = pki.issue(
        ca, pki.LeafSpec(common_name="admin", organizations=("system:masters",), client=True)
    )
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for name, data in {
            "ca.crt": ca.cert_pem,
            "s.crt": server.cert_pem,
            "s.key": server.key_pem,
            "c.crt": client.cert_pem,
            "c.key": client.key_pem,
        }.items():
            (d / name).write_bytes(data)
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(d / "s.crt", d / "s.key")
        server_ctx.load_verify_locations(d / "ca.crt")
        server_ctx.verify_mode = ssl.CERT_REQUIRED
        client_ctx = ssl.create_default_context(cafile=str(d / "ca.crt"))
        client_ctx.load_cert_chain(d / "c.crt", d / "c.key")

        listener = socket.create_server(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        peer: dict[str, object] = {}

        def serve() -> None:
            conn, _ = listener.accept()
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                peer.update(tls.getpeercert() or {})
                tls.sendall(b"ok")

        thread = threading.Thread(target=serve)
        thread.start()
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            client_ctx.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            assert tls.recv(2) == b"ok"
        thread.join(5)
        listener.close()
    assert ((("commonName", "admin"),)) in peer["subject"]  # type: ignore[operator]


def test_validity_is_backdated_for_clock_skew(ca: pki.KeyPair) -> None:
    leaf = pki.issue(ca, pki.LeafSpec(common_name="c", client=True))
    assert leaf.certificate().not_valid_before_utc < dt.datetime.now(dt.UTC) - dt.timedelta(
        minutes=4
    )


def test_issue_from_a_ca_without_subject_key_identifier() -> None:
    """CAs made elsewhere may lack SKI; the leaf's AKI is then derived from the CA key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "external")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    external = pki.KeyPair(
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
    )
    leaf = pki.issue(external, pki.LeafSpec(common_name="c", client=True)).certificate()
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    expected = x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest
    assert aki.key_identifier == expected
    leaf.verify_directly_issued_by(cert)
