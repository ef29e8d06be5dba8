"""Render a kubeconfig with embedded (base64) credentials.

Written as block YAML by hand so ``core`` needs no YAML library; every scalar is a
JSON string, which is also a valid YAML double-quoted scalar, so no value can break
the document.
"""

from __future__ import annotations

import base64
import json


def render_kubeconfig(
    *,
    cluster_name: str,
    server: str,
    ca_pem: bytes,
    client_cert_pem: bytes,
    client_key_pem: bytes,
    user: str,
) -> str:
    """Return kubeconfig YAML with one cluster, one user and one current context.

    The context is named after the cluster, so ``kubectl config get-contexts`` shows
    which shoot a file belongs to.
    """
    if not server.startswith("https://"):
        raise ValueError(f"server must be an https:// URL, got {server!r}")
    q = json.dumps
    lines = [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        f"- name: {q(cluster_name)}",
        "  cluster:",
        f"    server: {q(server)}",
        f"    certificate-authority-data: {q(_b64(ca_pem))}",
        "users:",
        f"- name: {q(user)}",
        "  user:",
        f"    client-certificate-data: {q(_b64(client_cert_pem))}",
        f"    client-key-data: {q(_b64(client_key_pem))}",
        "contexts:",
        f"- name: {q(cluster_name)}",
        "  context:",
        f"    cluster: {q(cluster_name)}",
        f"    user: {q(user)}",
        f"current-context: {q(cluster_name)}",
        "preferences: {}",
    ]
    return "\n".join(lines) + "\n"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
