"""Certificates and kubeconfigs of one shoot's control plane, as Secret data.

Each shoot has its own CA, so one shoot's credentials mean nothing to another's
API server. Reconcile is incremental: existing Secrets are kept while their
certificate still covers the wanted names and is not close to expiry; only
what changed is re-issued, always from the shoot's existing CA.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography import x509

from airflow_provider_garden.core import pki
from airflow_provider_garden.core.controlplane.encryption import (
    ENCRYPTION_FILE,
    ENCRYPTION_SECRET,
    new_key,
    render,
)
from airflow_provider_garden.core.kubeconfig import render_kubeconfig

SecretData = dict[str, bytes]
RENEW_BEFORE = dt.timedelta(days=30)


def encryption_config(key: bytes) -> bytes:
    """A new control plane's EncryptionConfiguration: Secrets with AES-CBC under ``key``
    (32 bytes); reads fall back to plain (identity) for Secrets written before it, until
    rewritten (core/controlplane/encryption.py)."""
    return render([new_key(key)])


@dataclass(frozen=True, kw_only=True)
class Endpoints:
    """Where the shoot's API server and etcd are reached from."""

    namespace: str  # control-plane namespace in the seed
    apiserver_cluster_ip: str  # ClusterIP of the kube-apiserver Service in the seed
    shoot_kubernetes_ip: str  # first IP of the shoot's service CIDR (its `kubernetes` svc)
    external_server: str  # https URL people use (ClusterIP, NodePort or LoadBalancer)

    @property
    def apiserver_dns(self) -> tuple[str, ...]:
        ns = self.namespace
        return (
            "kube-apiserver",
            f"kube-apiserver.{ns}",
            f"kube-apiserver.{ns}.svc",
            f"kube-apiserver.{ns}.svc.cluster.local",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
            "localhost",
        )

    @property
    def etcd_dns(self) -> tuple[str, ...]:
        ns = self.namespace
        return ("etcd", f"etcd.{ns}", f"etcd.{ns}.svc", f"etcd.{ns}.svc.cluster.local", "localhost")

    @property
    def in_seed_server(self) -> str:
        return f"https://kube-apiserver.{self.namespace}.svc"


def _leaves(ep: Endpoints) -> dict[str, pki.LeafSpec]:
    """Secret name -> the certificate it holds."""
    return {
        "etcd-server": pki.LeafSpec(
            common_name="etcd",
            dns_names=ep.etcd_dns,
            ip_addresses=("127.0.0.1",),
            server=True,
            client=True,
        ),
        "etcd-client": pki.LeafSpec(common_name="etcd-client", client=True),
        "kube-apiserver-tls": pki.LeafSpec(
            common_name="kube-apiserver",
            dns_names=ep.apiserver_dns,
            ip_addresses=(ep.apiserver_cluster_ip, ep.shoot_kubernetes_ip, "127.0.0.1"),
            server=True,
        ),
        "kube-apiserver-kubelet-client": pki.APISERVER_KUBELET_CLIENT,
        "kube-controller-manager": pki.CONTROLLER_MANAGER_CLIENT,
        "kube-scheduler": pki.SCHEDULER_CLIENT,
        # The local machine driver (kwok) acts as the kubelet of every simulated machine;
        # its ClusterRole in the shoot is applied with the driver's controller.
        "kwok-controller": pki.LeafSpec(common_name="system:kwok-controller", client=True),
        "admin": pki.LeafSpec(
            common_name="garden:admin", organizations=("system:masters",), client=True
        ),
    }


def plan_secrets(
    existing: Mapping[str, Mapping[str, bytes]],
    endpoints: Endpoints,
    *,
    now: dt.datetime,
) -> dict[str, SecretData]:
    """Return the Secrets (name -> data) to write; an empty dict means all are current.

    ``existing`` maps Secret names in the control-plane namespace to their data.
    """
    out: dict[str, SecretData] = {}
    ca_data = existing.get("ca")
    if ca_data and _valid(ca_data.get("tls.crt"), now=now):
        ca = pki.KeyPair(key_pem=bytes(ca_data["tls.key"]), cert_pem=bytes(ca_data["tls.crt"]))
    else:
        ca = pki.new_ca(f"shoot {endpoints.namespace}")
        out["ca"] = {"tls.crt": ca.cert_pem, "tls.key": ca.key_pem, "ca.crt": ca.cert_pem}
        existing = {}  # a new CA invalidates every leaf

    leaves: dict[str, pki.KeyPair] = {}
    for secret_name, leaf in _leaves(endpoints).items():
        have = existing.get(secret_name)
        if have and _covers(have.get("tls.crt"), leaf, now=now):
            leaves[secret_name] = pki.KeyPair(
                key_pem=bytes(have["tls.key"]), cert_pem=bytes(have["tls.crt"])
            )
            continue
        pair = pki.issue(ca, leaf)
        leaves[secret_name] = pair
        out[secret_name] = {
            "tls.crt": pair.cert_pem,
            "tls.key": pair.key_pem,
            "ca.crt": ca.cert_pem,
        }

    if "service-account-key" not in existing:
        private, public = pki.new_service_account_key()
        out["service-account-key"] = {"sa.key": private, "sa.pub": public}

    if ENCRYPTION_SECRET not in existing:
        out[ENCRYPTION_SECRET] = {ENCRYPTION_FILE: encryption_config(os.urandom(32))}

    for component in ("kube-controller-manager", "kube-scheduler", "kwok-controller"):
        name = f"{component}-kubeconfig"
        if component in out or name not in existing:
            out[name] = {
                "kubeconfig": render_kubeconfig(
                    cluster_name=endpoints.namespace,
                    server=endpoints.in_seed_server,
                    ca_pem=ca.cert_pem,
                    client_cert_pem=leaves[component].cert_pem,
                    client_key_pem=leaves[component].key_pem,
                    user=component,
                ).encode()
            }
    return out


def admin_kubeconfigs(
    secrets: Mapping[str, Mapping[str, bytes]], endpoints: Endpoints
) -> SecretData:
    """The admin kubeconfig twice: for pods in the seed and for people outside it."""
    ca = bytes(secrets["ca"]["tls.crt"])
    admin = secrets["admin"]

    def render(server: str) -> bytes:
        return render_kubeconfig(
            cluster_name=endpoints.namespace,
            server=server,
            ca_pem=ca,
            client_cert_pem=bytes(admin["tls.crt"]),
            client_key_pem=bytes(admin["tls.key"]),
            user="admin",
        ).encode()

    return {
        "kubeconfig": render(endpoints.in_seed_server),
        "kubeconfig-external": render(endpoints.external_server),
        "ca.crt": ca,
    }


def encode(data: Mapping[str, bytes]) -> dict[str, str]:
    """Secret `data` values are base64 text."""
    return {k: base64.b64encode(v).decode() for k, v in data.items()}


def decode(data: Mapping[str, str] | None) -> dict[str, bytes]:
    return {k: base64.b64decode(v) for k, v in (data or {}).items()}


def _load(cert_pem: bytes | None) -> x509.Certificate | None:
    if not cert_pem:
        return None
    try:
        return x509.load_pem_x509_certificate(bytes(cert_pem))
    except ValueError:
        return None


def _valid(cert_pem: bytes | None, *, now: dt.datetime) -> bool:
    cert = _load(cert_pem)
    return cert is not None and cert.not_valid_after_utc - RENEW_BEFORE > now


def _covers(cert_pem: bytes | None, leaf: pki.LeafSpec, *, now: dt.datetime) -> bool:
    cert = _load(cert_pem)
    if cert is None or cert.not_valid_after_utc - RENEW_BEFORE <= now:
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = set(san.get_values_for_type(x509.DNSName))
        ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    except x509.ExtensionNotFound:
        dns, ips = set(), set()
    want_ips = {str(ipaddress.ip_address(ip)) for ip in leaf.ip_addresses}
    return set(leaf.dns_names) <= dns and want_ips <= ips
