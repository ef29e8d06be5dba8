"""benchmarks/api_count.py: the counting proxy in front of a TLS API server with client certs."""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from airflow_provider_garden.core import pki
from benchmarks.api_count import CountingProxy


class _Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[tuple[str, str, str, bytes]]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        peer = self.connection.getpeercert()["subject"][0][0][1]  # type: ignore[union-attr]
        self.seen.append((self.command, self.path, peer, body))
        if "watch=true" in self.path:  # a watch: chunked, no length
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for n in range(3):
                line = json.dumps({"type": "ADDED", "n": n}).encode() + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.write(b"0\r\n\r\n")
            return
        data = json.dumps({"path": self.path, "body": body.decode()}).encode()
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A TLS server that requires a client certificate, and an admin kubeconfig for it."""
    ca = pki.new_ca("test-ca")
    server = pki.issue(
        ca, pki.LeafSpec(common_name="apiserver", ip_addresses=("127.0.0.1",), server=True)
    )
    admin = pki.issue(ca, pki.LeafSpec(common_name="admin", client=True))
    for name, data in (
        ("ca.crt", ca.cert_pem),
        ("tls.crt", server.cert_pem),
        ("tls.key", server.key_pem),
    ):
        (tmp_path / name).write_bytes(data)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(tmp_path / "ca.crt"))
    tls.load_cert_chain(tmp_path / "tls.crt", tmp_path / "tls.key")
    tls.verify_mode = ssl.CERT_REQUIRED
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    _Upstream.seen = []
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    yield {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "admin",
        "contexts": [{"name": "admin", "context": {"cluster": "c", "user": "admin"}}],
        "clusters": [
            {
                "name": "c",
                "cluster": {
                    "server": f"https://127.0.0.1:{httpd.server_address[1]}",
                    "certificate-authority-data": b64(ca.cert_pem),
                },
            }
        ],
        "users": [
            {
                "name": "admin",
                "user": {
                    "client-certificate-data": b64(admin.cert_pem),
                    "client-key-data": b64(admin.key_pem),
                },
            }
        ],
    }
    httpd.shutdown()
    httpd.server_close()


def test_requests_are_forwarded_with_the_kubeconfigs_credentials_and_counted(
    kubeconfig: dict[str, Any],
) -> None:
    with CountingProxy(kubeconfig) as proxy:
        proxied = proxy.kubeconfig()
        assert proxied["clusters"][0]["cluster"] == {"server": proxy.url}
        assert proxied["users"][0]["user"] == {}, "the code under test holds no credentials"
        # One keep-alive connection for all three, as a Kubernetes client would hold.
        port = int(proxy.url.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/v1/namespaces")
        assert json.load(conn.getresponse())["path"] == "/api/v1/namespaces"
        conn.request("POST", "/api/v1/namespaces", body=b'{"kind":"Namespace"}')
        answer = conn.getresponse()
        assert answer.status == 201
        assert json.load(answer)["body"] == '{"kind":"Namespace"}'
        conn.request("GET", "/api/v1/pods?watch=true")
        events = [json.loads(line) for line in conn.getresponse().read().splitlines()]
        conn.close()
        assert [e["n"] for e in events] == [0, 1, 2]
        assert proxy.counts == {"GET": 2, "POST": 1}
        assert proxy.total() == 3
        proxy.reset()
        assert proxy.total() == 0
    assert [(m, who) for m, _, who, _ in _Upstream.seen] == [
        ("GET", "admin"),
        ("POST", "admin"),
        ("GET", "admin"),
    ]


def test_a_kubeconfig_without_tls_is_refused(kubeconfig: dict[str, Any]) -> None:
    server = kubeconfig["clusters"][0]["cluster"]["server"]
    kubeconfig["clusters"][0]["cluster"]["server"] = server.replace("https://", "http://")
    with pytest.raises(ValueError, match="expected an https:// URL"):
        CountingProxy(kubeconfig)
