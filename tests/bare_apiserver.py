"""A bare Kubernetes API server for tests: etcd and kube-apiserver, nothing installed.

A cluster without the provider's CRDs, CloudProfile or RBAC, which the shared seed can
never be made into (its CRDs serve every other test). Runs the seed's own builds from
the cache (`SeedPaths.bin`: kube-apiserver of `versions.KUBERNETES`, etcd of
`versions.ETCD`) and builds nothing: a missing binary fails naming it. etcd and the API
server listen on free 127.0.0.1 ports, with data, certificates (kube-apiserver makes
its own self-signed ones in ``--cert-dir``), logs and PID files in one directory; they
are stopped by those PIDs. Two identities, by static token: ``admin`` (system:masters)
and ``nobody`` (authenticated, no role bound: RBAC allows it discovery only). No
controller-manager or scheduler runs: objects are stored, nothing acts on them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from airflow_provider_garden.localseed.paths import SeedPaths
from airflow_provider_garden.localseed.versions import ETCD, KUBERNETES

READY_SECONDS = 90


@dataclass(frozen=True)
class BareApiserver:
    url: str
    admin_kubeconfig: Path
    #: a user the API server knows and RBAC grants nothing
    nobody_kubeconfig: Path
    workdir: Path


def binaries(paths: SeedPaths | None = None) -> tuple[Path, Path]:
    """(etcd, kube-apiserver) of the seed's build; AssertionError naming what is missing."""
    paths = paths or SeedPaths.default()
    etcd = paths.bin / f"etcd-{ETCD}" / "etcd"
    apiserver = paths.bin / f"kubernetes-{KUBERNETES}" / "kube-apiserver"
    missing = [str(p) for p in (etcd, apiserver) if not os.access(p, os.X_OK)]
    assert not missing, (
        f"not built: {', '.join(missing)} (the local seed's build makes them: "
        "`garden local-seed up` once on this machine)"
    )
    return etcd, apiserver


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _kubeconfig(path: Path, url: str, token: str) -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: bare\n"
        f"clusters: [{{name: bare, cluster: {{server: '{url}', insecure-skip-tls-verify: true}}}}]\n"
        f"users: [{{name: u, user: {{token: '{token}'}}}}]\n"
        "contexts: [{name: bare, context: {cluster: bare, user: u}}]\n"
    )
    return path


def _start(argv: list[str], workdir: Path, name: str) -> subprocess.Popen[bytes]:
    log = (workdir / f"{name}.log").open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    (workdir / f"{name}.pid").write_text(f"{proc.pid}\n")
    return proc


def _stop(proc: subprocess.Popen[bytes], workdir: Path, name: str) -> None:
    """Stop the process we started, by its PID (and only it)."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    (workdir / f"{name}.pid").unlink(missing_ok=True)


def _wait_ready(
    url: str, token: str, procs: dict[str, subprocess.Popen[bytes]], workdir: Path
) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(  # noqa: S310 (our own https URL)
        f"{url}/readyz", headers={"Authorization": f"Bearer {token}"}
    )
    deadline = time.monotonic() + READY_SECONDS
    last = ""
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            if proc.poll() is not None:
                tail = (workdir / f"{name}.log").read_text(errors="replace")[-2000:]
                raise AssertionError(f"{name} exited {proc.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(request, context=context, timeout=5) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError) as err:
            last = str(err)
        time.sleep(0.5)
    raise AssertionError(f"kube-apiserver at {url} not ready in {READY_SECONDS}s: {last}")


@contextlib.contextmanager
def bare_apiserver(workdir: Path) -> Iterator[BareApiserver]:
    """Start etcd and kube-apiserver in `workdir`; stop both (by PID) when done."""
    etcd_bin, apiserver_bin = binaries()
    workdir.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sa_key = workdir / "sa.key"
    sa_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    sa_key.chmod(0o600)
    admin, nobody = secrets.token_hex(16), secrets.token_hex(16)
    tokens = workdir / "tokens.csv"
    tokens.write_text(f'{admin},admin,1,"system:masters"\n{nobody},nobody,2\n')
    tokens.chmod(0o600)
    etcd_port, etcd_peer, port = _free_port(), _free_port(), _free_port()
    etcd_url = f"http://127.0.0.1:{etcd_port}"
    url = f"https://127.0.0.1:{port}"
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        procs["etcd"] = _start(
            [
                str(etcd_bin),
                f"--data-dir={workdir / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-cluster=default=http://127.0.0.1:{etcd_peer}",
            ],
            workdir,
            "etcd",
        )
        procs["kube-apiserver"] = _start(
            [
                str(apiserver_bin),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={workdir / 'certs'}",
                f"--token-auth-file={tokens}",
                "--authorization-mode=RBAC",
                f"--service-account-key-file={sa_key}",
                f"--service-account-signing-key-file={sa_key}",
                "--service-account-issuer=https://bare.invalid",
                "--service-cluster-ip-range=10.231.0.0/24",
                "--disable-admission-plugins=ServiceAccount",
                "--allow-privileged=true",
                "--enable-priority-and-fairness=false",
            ],
            workdir,
            "kube-apiserver",
        )
        _wait_ready(url, admin, procs, workdir)
        yield BareApiserver(
            url=url,
            admin_kubeconfig=_kubeconfig(workdir / "admin.kubeconfig", url, admin),
            nobody_kubeconfig=_kubeconfig(workdir / "nobody.kubeconfig", url, nobody),
            workdir=workdir,
        )
    finally:
        for name in reversed(list(procs)):
            _stop(procs[name], workdir, name)
