"""Certificates and keys for a shoot's control plane, made with ``cryptography``.

The certificates must satisfy Go's TLS stack (kube-apiserver, etcd, kubelet):

* Go ignores the subject common name for host checks, so servers need SANs.
* Go checks ExtendedKeyUsage along the chain, so every leaf states server/client auth.
* The CA carries BasicConstraints(ca=True) and keyCertSign; leaves carry
  SubjectKeyIdentifier and an AuthorityKeyIdentifier pointing at the CA, which lets
  Go and OpenSSL pick the right issuer when several CAs share a subject.

Keys are ECDSA P-256: generation takes well under a millisecond, where RSA-2048
takes tens of milliseconds, and a shoot needs about a dozen of them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Tolerates clocks of peers that lag this machine (a freshly started VM, a laptop).
_BACKDATE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class KeyPair:
    """A PEM private key (PKCS#8) and its PEM certificate."""

    key_pem: bytes
    cert_pem: bytes

    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)


def new_ca(common_name: str, *, valid_days: int = 3650) -> KeyPair:
    """Create a self-signed certificate authority."""
    _check_days(valid_days)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + dt.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    return KeyPair(
        key_pem=_private_pem(key), cert_pem=cert.public_bytes(serialization.Encoding.PEM)
    )


@dataclass(frozen=True, kw_only=True)
class LeafSpec:
    """What a leaf certificate states: its subject, the names it serves, its usages."""

    common_name: str
    organizations: tuple[str, ...] = ()
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    server: bool = False
    client: bool = False


# Client identities every Kubernetes control plane issues: the user names (and the
# group) its bootstrap RBAC and kubeadm give the components' rights to.
APISERVER_KUBELET_CLIENT = LeafSpec(
    common_name="kube-apiserver-kubelet-client", organizations=("system:masters",), client=True
)
CONTROLLER_MANAGER_CLIENT = LeafSpec(common_name="system:kube-controller-manager", client=True)
SCHEDULER_CLIENT = LeafSpec(common_name="system:kube-scheduler", client=True)


def issue(
    ca: KeyPair, spec: LeafSpec, *, valid_days: int = 365, valid_for: dt.timedelta | None = None
) -> KeyPair:
    """Issue the leaf certificate ``spec`` describes, signed by ``ca``.

    ``spec.organizations`` become subject O attributes, which Kubernetes reads as groups
    (e.g. ``system:masters``). ``valid_for`` (short-lived access) overrides ``valid_days``.
    The validity never outlasts the CA's.
    """
    _check_days(valid_days)
    validity = valid_for if valid_for is not None else dt.timedelta(days=valid_days)
    if validity <= dt.timedelta(0):
        raise ValueError(f"certificate {spec.common_name!r}: validity must be positive")
    if not (spec.server or spec.client):
        raise ValueError(f"certificate {spec.common_name!r}: set server=True and/or client=True")
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in spec.dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in spec.ip_addresses]
    if spec.server and not sans:
        raise ValueError(
            f"server certificate {spec.common_name!r} needs dns_names or ip_addresses "
            "(Go ignores the common name when checking host names)"
        )
    ca_cert = ca.certificate()
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError("CA key must be ECDSA or RSA")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in spec.organizations]
    subject.append(x509.NameAttribute(NameOID.COMMON_NAME, spec.common_name))
    usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if spec.server else []) + (
        [ExtendedKeyUsageOID.CLIENT_AUTH] if spec.client else []
    )
    now = dt.datetime.now(dt.UTC)
    not_after = min(now + validity, ca_cert.not_valid_after_utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(subject))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(_authority_key_id(ca_cert), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return KeyPair(
        key_pem=_private_pem(key), cert_pem=cert.public_bytes(serialization.Encoding.PEM)
    )


def new_service_account_key() -> tuple[bytes, bytes]:
    """Return (private PEM, public PEM) for signing and verifying service-account tokens.

    RSA-2048 like kubeadm's ``sa.key``: RS256 is the one JWT algorithm every token
    consumer (OIDC discovery clients, cloud workload identity) accepts.
    kube-apiserver reads the private key with ``--service-account-signing-key-file``
    and the public key with ``--service-account-key-file``.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _private_pem(key), public


def _private_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,  # ECDSA keys sign; they never encipher
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _authority_key_id(ca_cert: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    try:
        ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key())  # type: ignore[arg-type]
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _serial() -> int:
    # 127 random bits: positive, unique, and within RFC 5280's 20-octet limit.
    return secrets.randbits(127) | 1


def _check_days(valid_days: int) -> None:
    if valid_days < 1:
        raise ValueError(f"valid_days must be >= 1, got {valid_days}")
