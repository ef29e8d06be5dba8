"""Count API requests from outside the code under test: a counting proxy on loopback.

`CountingProxy(kubeconfig)` listens on 127.0.0.1 (plain HTTP) and forwards every
request to the kubeconfig's API server over TLS with the kubeconfig's own
credentials, counting each by verb. The code under test gets `proxy.kubeconfig()`
(the same cluster, its server the proxy) and runs unchanged: nothing in the
product counts its requests. Responses are streamed through (watches too).
``pause()`` holds every request at the proxy until ``resume()``: a network that
stops answering, for tests of what a client does then.
"""

from __future__ import annotations

import copy
import http.client
import ssl
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

# Hop-by-hop headers (RFC 9110 7.6.1) and those the proxy sets itself.
_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


class CountingProxy:
    """A loopback reverse proxy to one API server that counts the requests through it."""

    def __init__(self, kubeconfig: str | bytes | dict[str, Any]) -> None:
        self._loaded = kubeconfig if isinstance(kubeconfig, dict) else yaml.safe_load(kubeconfig)
        upstream = k8s_client.Configuration()
        k8s_config.load_kube_config_from_dict(
            self._loaded, client_configuration=upstream, persist_config=False
        )
        target = urlsplit(upstream.host)
        if target.scheme != "https" or not target.hostname:
            raise ValueError(f"kubeconfig server {upstream.host!r}: expected an https:// URL")
        self._host, self._port = target.hostname, target.port or 443
        self._tls = ssl.create_default_context(cafile=upstream.ssl_ca_cert)
        if upstream.cert_file:
            self._tls.load_cert_chain(upstream.cert_file, upstream.key_file)
        token = (upstream.api_key or {}).get("authorization")
        self._auth = token if token else None
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self._server: ThreadingHTTPServer | None = None
        self._open = threading.Event()
        self._open.set()

    # --- counting ---------------------------------------------------------------
    def record(self, method: str) -> None:
        with self._lock:
            self.counts[method] += 1

    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()

    # --- a network that stops answering -------------------------------------------
    def pause(self) -> None:
        """Hold every request (new and already waiting) until ``resume()``."""
        self._open.clear()

    def resume(self) -> None:
        self._open.set()

    # --- the listener -------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the proxy is not running: use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def kubeconfig(self) -> dict[str, Any]:
        """The kubeconfig with its current context's cluster at the proxy, no credentials."""
        proxied = copy.deepcopy(self._loaded)
        context_name = proxied["current-context"]
        context = next(c for c in proxied["contexts"] if c["name"] == context_name)["context"]
        for cluster in proxied["clusters"]:
            if cluster["name"] == context["cluster"]:
                cluster["cluster"] = {"server": self.url}
        for user in proxied["users"]:
            if user["name"] == context["user"]:
                user["user"] = {}
        return proxied

    def kubeconfig_text(self) -> str:
        return yaml.safe_dump(self.kubeconfig())

    def __enter__(self) -> CountingProxy:
        proxy = self

        class Handler(_Forward):
            owner = proxy

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._open.set()  # held requests end, so the server can shut down
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def connect(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(self._host, self._port, context=self._tls, timeout=300)


class _Forward(BaseHTTPRequestHandler):
    owner: CountingProxy
    _upstream: http.client.HTTPSConnection | None = None
    protocol_version = "HTTP/1.1"  # keep-alive, as the clients under test expect

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the counts are the output

    def _forward(self) -> None:
        self.owner._open.wait()
        self.owner.record(self.command)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        if self.owner._auth:
            headers["Authorization"] = self.owner._auth
        # One upstream connection per client connection, as a direct client would keep.
        upstream = self._upstream or self.owner.connect()
        self._upstream = upstream
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            self.send_response_only(answer.status, answer.reason)
            for key, value in answer.getheaders():
                if key.lower() not in _HOP:
                    self.send_header(key, value)
            if answer.getheader("Content-Length") is not None:
                data = answer.read()
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            # A streamed answer (a watch, chunked): pass each piece on as it comes.
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while piece := answer.read1(65536):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
            upstream.close()
            self._upstream = None
        except BaseException:
            upstream.close()
            self._upstream = None
            raise

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward
