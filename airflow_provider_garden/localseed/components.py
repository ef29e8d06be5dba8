"""The seed's daemons: command line, ports and health probe of each, in start order."""

from __future__ import annotations

import http.client
import ssl
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_provider_garden.localseed.config import (
    APISERVER_PORT,
    CLUSTER_NAME,
    CONTROLLER_MANAGER_PORT,
    ETCD_CLIENT_PORT,
    ETCD_PEER_PORT,
    KUBE_PROXY_HEALTHZ_PORT,
    KUBE_PROXY_METRICS_PORT,
    KUBELET_HEALTHZ_PORT,
    KUBELET_PORT,
    NODE_IP,
    NODE_NAME,
    SCHEDULER_PORT,
    SERVICE_CIDR,
    Layout,
)

if TYPE_CHECKING:
    from airflow_provider_garden.localseed.build import Binaries

CTR = "ctr"  # ships with Debian's containerd package


@dataclass(frozen=True, kw_only=True)
class Component:
    name: str
    argv: tuple[str, ...]
    ports: tuple[int, ...]
    health: Callable[[], str | None]  # None when healthy, else why not
    start_timeout: float


def components(layout: Layout, bins: Binaries, *, containerd: Path) -> list[Component]:
    """All daemons in the order they start (and the reverse of the order they stop).

    ``containerd`` is Debian's; ``bins`` are the ones the seed builds.
    """
    pki = layout.pki
    kubeconfig = layout.kubeconfig
    etcd_url = f"https://127.0.0.1:{ETCD_CLIENT_PORT}"
    peer_url = f"https://127.0.0.1:{ETCD_PEER_PORT}"

    def delegated(component: str) -> tuple[str, ...]:
        path = str(kubeconfig(component))
        return (
            f"--kubeconfig={path}",
            f"--authentication-kubeconfig={path}",
            f"--authorization-kubeconfig={path}",
            "--bind-address=127.0.0.1",
            "--leader-elect=false",  # one instance; skips a lease round-trip at start
        )

    def client_probe(url: str, *, ca: str, client: str, expect: str) -> Callable[[], str | None]:
        """Probe ``url`` verifying it with the CA ``ca``, as the seed's client ``client``."""
        cert = (pki(f"{client}.crt"), pki(f"{client}.key"))
        return lambda: https_probe(url, ca=pki(f"{ca}.crt"), cert=cert, expect=expect)

    return [
        Component(
            name="containerd",
            argv=(str(containerd), f"--config={layout.containerd_config}"),
            ports=(),
            health=lambda: _containerd_health(layout),
            start_timeout=30,
        ),
        Component(
            name="etcd",
            argv=(
                str(bins.etcd),
                f"--name={NODE_NAME}",
                f"--data-dir={layout.etcd_data}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster={NODE_NAME}={peer_url}",
                f"--cert-file={pki('etcd-server.crt')}",
                f"--key-file={pki('etcd-server.key')}",
                f"--trusted-ca-file={pki('etcd-ca.crt')}",
                "--client-cert-auth=true",
                f"--peer-cert-file={pki('etcd-server.crt')}",
                f"--peer-key-file={pki('etcd-server.key')}",
                f"--peer-trusted-ca-file={pki('etcd-ca.crt')}",
                "--peer-client-cert-auth=true",
                "--snapshot-count=10000",
            ),
            ports=(ETCD_CLIENT_PORT, ETCD_PEER_PORT),
            health=client_probe(
                f"{etcd_url}/health",
                ca="etcd-ca",
                client="apiserver-etcd-client",
                expect='"health":"true"',
            ),
            start_timeout=60,
        ),
        Component(
            name="kube-apiserver",
            argv=(
                str(bins.kube_apiserver),
                f"--advertise-address={NODE_IP}",
                f"--bind-address={NODE_IP}",
                f"--secure-port={APISERVER_PORT}",
                f"--etcd-servers={etcd_url}",
                f"--etcd-cafile={pki('etcd-ca.crt')}",
                f"--etcd-certfile={pki('apiserver-etcd-client.crt')}",
                f"--etcd-keyfile={pki('apiserver-etcd-client.key')}",
                f"--client-ca-file={pki('ca.crt')}",
                f"--tls-cert-file={pki('apiserver.crt')}",
                f"--tls-private-key-file={pki('apiserver.key')}",
                f"--kubelet-client-certificate={pki('apiserver-kubelet-client.crt')}",
                f"--kubelet-client-key={pki('apiserver-kubelet-client.key')}",
                f"--kubelet-certificate-authority={pki('ca.crt')}",
                "--kubelet-preferred-address-types=InternalIP,Hostname",
                # The front proxy (API aggregation); also lets the controller-manager
                # and scheduler find the request-header CA they look up at start.
                f"--requestheader-client-ca-file={pki('front-proxy-ca.crt')}",
                "--requestheader-allowed-names=front-proxy-client",
                "--requestheader-username-headers=X-Remote-User",
                "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                f"--proxy-client-cert-file={pki('front-proxy-client.crt')}",
                f"--proxy-client-key-file={pki('front-proxy-client.key')}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki('sa.pub')}",
                f"--service-account-signing-key-file={pki('sa.key')}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                "--allow-privileged=true",
                "--profiling=false",
                f"--cert-dir={layout.state / 'apiserver'}",
            ),
            ports=(APISERVER_PORT,),
            health=client_probe(
                f"https://{NODE_IP}:{APISERVER_PORT}/readyz", ca="ca", client="admin", expect="ok"
            ),
            start_timeout=120,
        ),
        Component(
            name="kube-controller-manager",
            argv=(
                str(bins.kube_controller_manager),
                *delegated("controller-manager"),
                f"--secure-port={CONTROLLER_MANAGER_PORT}",
                f"--cluster-name={CLUSTER_NAME}",
                f"--cluster-signing-cert-file={pki('ca.crt')}",
                f"--cluster-signing-key-file={pki('ca.key')}",
                f"--root-ca-file={pki('ca.crt')}",
                f"--service-account-private-key-file={pki('sa.key')}",
                "--use-service-account-credentials=true",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--allocate-node-cidrs=false",  # host-local IPAM owns the pod range
                # Its default is under /usr/libexec, which it would create.
                f"--flex-volume-plugin-dir={layout.volume_plugin_dir}",
            ),
            ports=(CONTROLLER_MANAGER_PORT,),
            health=lambda: https_probe(
                f"https://127.0.0.1:{CONTROLLER_MANAGER_PORT}/healthz", expect="ok"
            ),
            start_timeout=60,
        ),
        Component(
            name="kube-scheduler",
            argv=(
                str(bins.kube_scheduler),
                *delegated("scheduler"),
                f"--secure-port={SCHEDULER_PORT}",
            ),
            ports=(SCHEDULER_PORT,),
            health=lambda: https_probe(f"https://127.0.0.1:{SCHEDULER_PORT}/healthz", expect="ok"),
            start_timeout=60,
        ),
        Component(
            name="kubelet",
            argv=(
                str(bins.kubelet),
                f"--config={layout.config_dir / 'kubelet.json'}",
                f"--kubeconfig={kubeconfig('kubelet')}",
                f"--root-dir={layout.kubelet_dir}",
                f"--cert-dir={layout.kubelet_dir / 'pki'}",
                f"--hostname-override={NODE_NAME}",
                f"--node-ip={NODE_IP}",
            ),
            ports=(KUBELET_PORT, KUBELET_HEALTHZ_PORT),
            health=lambda: http_probe(f"http://127.0.0.1:{KUBELET_HEALTHZ_PORT}/healthz"),
            start_timeout=60,
        ),
        Component(
            name="kube-proxy",
            argv=(str(bins.kube_proxy), f"--config={layout.config_dir / 'kube-proxy.json'}"),
            ports=(KUBE_PROXY_HEALTHZ_PORT, KUBE_PROXY_METRICS_PORT),
            # /livez answers 200 with a JSON timestamp, not "ok".
            health=lambda: http_probe(
                f"http://127.0.0.1:{KUBE_PROXY_HEALTHZ_PORT}/livez", expect="lastUpdated"
            ),
            start_timeout=60,
        ),
    ]


def _containerd_health(layout: Layout) -> str | None:
    if not layout.containerd_socket.exists():
        return f"no socket at {layout.containerd_socket}"
    proc = subprocess.run(
        [CTR, f"--address={layout.containerd_socket}", "version"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return None if proc.returncode == 0 else proc.stderr.strip() or "ctr version failed"


def https_probe(
    url: str,
    *,
    ca: Path | None = None,
    cert: tuple[Path, Path] | None = None,
    expect: str = "ok",
) -> str | None:
    """GET ``url``; None when the body contains ``expect``, else the reason.

    Without ``ca`` the server is not verified: used only for loopback health ports
    whose self-signed certificates the components make in memory.
    """
    ctx = ssl.create_default_context(cafile=str(ca) if ca else None)
    if ca is None:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    host, _, path = url.removeprefix("https://").partition("/")
    name, _, port = host.partition(":")
    conn = http.client.HTTPSConnection(name, int(port), context=ctx, timeout=5)
    return _get(conn, f"/{path}", expect)


def http_probe(url: str, *, expect: str = "ok") -> str | None:
    host, _, path = url.removeprefix("http://").partition("/")
    name, _, port = host.partition(":")
    return _get(http.client.HTTPConnection(name, int(port), timeout=5), f"/{path}", expect)


def _get(conn: http.client.HTTPConnection, path: str, expect: str) -> str | None:
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read(4096).decode(errors="replace")
    except (OSError, http.client.HTTPException) as err:
        return f"{conn.host}:{conn.port}{path}: {err}"
    finally:
        conn.close()
    if resp.status == 200 and expect in body:
        return None
    return f"{conn.host}:{conn.port}{path}: HTTP {resp.status}: {body.strip()[:300]}"
