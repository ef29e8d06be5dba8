"""Certificates, keys and kubeconfigs of the local seed, written under ``<state>/pki``.

Three CAs like kubeadm: the cluster's; etcd's, so no cluster certificate (a
kubelet's, an admin's) can talk to etcd directly; and the front proxy's, which
signs the certificate the API server presents to aggregated API servers. Files are made
once and kept; a leaf is re-issued only when it is missing or about to expire.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from airflow_provider_garden.core import pki
from airflow_provider_garden.core.kubeconfig import render_kubeconfig
from airflow_provider_garden.localseed.config import (
    APISERVER_URL,
    CLUSTER_DOMAIN,
    CLUSTER_NAME,
    KUBERNETES_SERVICE_IP,
    NODE_IP,
    NODE_NAME,
    Layout,
)

_RENEW_BEFORE = dt.timedelta(days=30)
_LEAF_DAYS = 365


@dataclass(frozen=True)
class Leaf:
    """One certificate the seed needs, issued by the cluster CA or the etcd CA."""

    name: str  # of its files: <name>.crt, <name>.key
    spec: pki.LeafSpec
    issuer: str = "ca"  # a key of CAS


# CA file name -> common name.
CAS = {
    "ca": "garden-seed-ca",
    "etcd-ca": "garden-seed-etcd-ca",
    "front-proxy-ca": "garden-seed-front-proxy-ca",
}

_APISERVER_NAMES = (
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    f"kubernetes.default.svc.{CLUSTER_DOMAIN}",
    "localhost",
)

LEAVES = (
    Leaf(
        "apiserver",
        pki.LeafSpec(
            common_name="kube-apiserver",
            dns_names=_APISERVER_NAMES,
            ip_addresses=(NODE_IP, KUBERNETES_SERVICE_IP, "127.0.0.1"),
            server=True,
        ),
    ),
    Leaf("apiserver-kubelet-client", pki.APISERVER_KUBELET_CLIENT),
    Leaf(
        "kubelet",
        pki.LeafSpec(
            common_name=f"system:node:{NODE_NAME}",
            organizations=("system:nodes",),
            dns_names=(NODE_NAME, "localhost"),
            ip_addresses=(NODE_IP, "127.0.0.1"),
            server=True,
            client=True,
        ),
    ),
    Leaf(
        "admin",
        pki.LeafSpec(common_name="garden-admin", organizations=("system:masters",), client=True),
    ),
    Leaf("controller-manager", pki.CONTROLLER_MANAGER_CLIENT),
    Leaf("scheduler", pki.SCHEDULER_CLIENT),
    Leaf("kube-proxy", pki.LeafSpec(common_name="system:kube-proxy", client=True)),
    Leaf(
        "etcd-server",
        pki.LeafSpec(
            common_name="etcd-server",
            dns_names=("localhost",),
            ip_addresses=("127.0.0.1",),
            server=True,
            client=True,
        ),
        issuer="etcd-ca",
    ),
    Leaf(
        "apiserver-etcd-client",
        pki.LeafSpec(common_name="kube-apiserver-etcd-client", client=True),
        issuer="etcd-ca",
    ),
    Leaf(
        "front-proxy-client",
        pki.LeafSpec(common_name="front-proxy-client", client=True),
        issuer="front-proxy-ca",
    ),
)

# Component name -> leaf whose client certificate its kubeconfig carries.
KUBECONFIG_USERS = {
    "admin": "admin",
    "controller-manager": "controller-manager",
    "scheduler": "scheduler",
    "kube-proxy": "kube-proxy",
    "kubelet": "kubelet",
}


def ensure_pki(layout: Layout) -> None:
    """Create missing or expiring certificates and keys, then (re)write the kubeconfigs."""
    layout.paths.pki.mkdir(parents=True, exist_ok=True)
    os.chmod(layout.paths.pki, 0o700)
    cas = {name: _ensure_ca(layout, name, common_name) for name, common_name in CAS.items()}
    for leaf in LEAVES:
        issuer, issuer_new = cas[leaf.issuer]
        if issuer_new or _needs_issue(layout.pki(f"{leaf.name}.crt")):
            pair = pki.issue(issuer, leaf.spec, valid_days=_LEAF_DAYS)
            _write_pair(layout, leaf.name, pair)
    if not layout.pki("sa.key").exists():
        private, public = pki.new_service_account_key()
        _write(layout.pki("sa.pub"), public, mode=0o644)
        _write(layout.pki("sa.key"), private, mode=0o600)
    for component, user in KUBECONFIG_USERS.items():
        path = layout.paths.kubeconfig if component == "admin" else layout.kubeconfig(component)
        text = render_kubeconfig(
            cluster_name=CLUSTER_NAME,
            server=APISERVER_URL,
            ca_pem=layout.pki("ca.crt").read_bytes(),
            client_cert_pem=layout.pki(f"{user}.crt").read_bytes(),
            client_key_pem=layout.pki(f"{user}.key").read_bytes(),
            user=user,
        )
        _write_if_changed(path, text.encode(), mode=0o600)


def _ensure_ca(layout: Layout, name: str, common_name: str) -> tuple[pki.KeyPair, bool]:
    crt, key = layout.pki(f"{name}.crt"), layout.pki(f"{name}.key")
    if crt.exists() and key.exists() and not _needs_issue(crt):
        return pki.KeyPair(key_pem=key.read_bytes(), cert_pem=crt.read_bytes()), False
    pair = pki.new_ca(common_name, valid_days=3650)
    _write_pair(layout, name, pair)
    return pair, True


def _needs_issue(cert_path: Path) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return True
    if not cert_path.with_suffix(".key").exists():
        return True
    return cert.not_valid_after_utc - dt.datetime.now(dt.UTC) < _RENEW_BEFORE


def _write_pair(layout: Layout, name: str, pair: pki.KeyPair) -> None:
    _write(layout.pki(f"{name}.key"), pair.key_pem, mode=0o600)
    _write(layout.pki(f"{name}.crt"), pair.cert_pem, mode=0o644)


def _write(path: Path, data: bytes, *, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, mode)
    tmp.replace(path)  # never leave a half-written key for a daemon to read


def _write_if_changed(path: Path, data: bytes, *, mode: int) -> None:
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass
    _write(path, data, mode=mode)
