"""KubeClient's errors, retries, backoff and credential reload, against a scripted HTTP server.

The client is the real kubernetes ApiClient speaking real HTTP to a local server
that answers from a script; only `sleep` and the jitter's random draw are
injected, so no test waits.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from kubernetes import client as k8s_client

from airflow_provider_garden.kube.client import Backoff, KubeClient, parse_retry_after
from airflow_provider_garden.kube.errors import (
    ApiError,
    ClientError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    ServerError,
    TLSFailure,
    TooManyRequests,
    Unauthorized,
    Unavailable,
)

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "ns"}}


@dataclass
class Answer:
    code: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, object] | None = None


@dataclass
class Script:
    """Answers in order (the last one repeats); requests as (method, path, token)."""

    answers: list[Answer] = field(default_factory=list)
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    valid_token: str | None = None  # when set, any other token gets 401

    def next(self, token: str) -> Answer:
        if self.valid_token is not None and token != f"Bearer {self.valid_token}":
            return Answer(401, body=_status(401, "Unauthorized", "token expired"))
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def _status(code: int, reason: str, message: str) -> dict[str, object]:
    return {
        "kind": "Status",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
    }


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            token = self.headers.get("Authorization", "")
            script.requests.append((self.command, self.path, token))
            answer = script.next(token)
            payload = json.dumps(answer.body if answer.body is not None else CM).encode()
            self.send_response(answer.code)
            for key, value in answer.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_PATCH = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, *_: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    finally:
        httpd.shutdown()
        httpd.server_close()


def api_client(host: str, token: str = "old") -> k8s_client.ApiClient:  # noqa: S107
    conf = k8s_client.Configuration(host=host)
    conf.api_key = {"authorization": f"Bearer {token}"}  # as the kubeconfig loader sets it
    return k8s_client.ApiClient(conf)


@dataclass
class Clock:
    """Records the sleeps instead of sleeping."""

    slept: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def client(host: str, clock: Clock, **kwargs: object) -> KubeClient:
    kwargs.setdefault("draw", lambda: 0.0)
    return KubeClient(api_client=api_client(host), sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


# --- one error class per status ----------------------------------------------------


@pytest.mark.parametrize(
    ("code", "cls", "parents"),
    [
        (400, ClientError, ()),
        (401, Unauthorized, (ClientError,)),
        (403, Forbidden, (ClientError,)),
        (404, NotFound, (ClientError, LookupError)),
        (409, Conflict, (ClientError,)),
        (422, Invalid, (ClientError,)),
    ],
)
def test_client_errors_raise_their_class_at_once(
    server: tuple[str, Script], code: int, cls: type[ApiError], parents: tuple[type, ...]
) -> None:
    host, script = server
    script.answers = [Answer(code, body=_status(code, "Why", f"refused with {code}"))]
    clock = Clock()
    with pytest.raises(cls) as raised:
        client(host, clock).get("v1", "ConfigMap", "cm", "ns")
    err = raised.value
    assert type(err) is cls
    assert all(isinstance(err, p) for p in (ApiError, *parents))
    assert (err.code, err.reason, err.message) == (code, "Why", f"refused with {code}")
    assert err.status["kind"] == "Status"
    assert len(script.requests) == 1  # not retried
    assert clock.slept == []


def test_a_body_that_is_not_a_status_still_gives_the_class(server: tuple[str, Script]) -> None:
    host, script = server
    script.answers = [Answer(403, body={"unexpected": True})]
    with pytest.raises(Forbidden, match="403"):
        client(host, Clock()).get("v1", "ConfigMap", "cm", "ns")


def test_not_found_is_an_answer_for_find_and_delete(server: tuple[str, Script]) -> None:
    host, script = server
    script.answers = [Answer(404, body=_status(404, "NotFound", "configmaps cm not found"))]
    kube = client(host, Clock())
    assert kube.find("v1", "ConfigMap", "cm", "ns") is None
    assert kube.delete("v1", "ConfigMap", "cm", "ns") is False


# --- retries -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "cls"),
    [(429, TooManyRequests), (500, ServerError), (502, Unavailable), (503, Unavailable)],
)
def test_retryable_statuses_are_retried_until_they_pass(
    server: tuple[str, Script], code: int, cls: type[ApiError]
) -> None:
    host, script = server
    script.answers = [Answer(code), Answer(code), Answer(200)]
    clock = Clock()
    assert client(host, clock).get("v1", "ConfigMap", "cm", "ns") == CM
    assert len(script.requests) == 3
    assert clock.slept == [0.25, 0.5]  # draw 0: no jitter taken off


def test_gives_up_after_the_attempts_with_the_typed_error(server: tuple[str, Script]) -> None:
    host, script = server
    script.answers = [Answer(503, body=_status(503, "ServiceUnavailable", "etcd is busy"))]
    clock = Clock()
    backoff = Backoff(attempts=4, first=1.0, most=3.0)
    with pytest.raises(Unavailable, match="etcd is busy"):
        client(host, clock, backoff=backoff).get("v1", "ConfigMap", "cm", "ns")
    assert len(script.requests) == 4
    assert clock.slept == [1.0, 2.0, 3.0]  # doubling, capped at `most`


def test_one_attempt_means_no_retry(server: tuple[str, Script]) -> None:
    host, script = server
    script.answers = [Answer(500)]
    clock = Clock()
    with pytest.raises(ServerError):
        client(host, clock, backoff=Backoff(attempts=1)).get("v1", "ConfigMap", "cm", "ns")
    assert (len(script.requests), clock.slept) == (1, [])


def test_retry_after_is_honoured(server: tuple[str, Script]) -> None:
    host, script = server
    script.answers = [Answer(429, headers={"Retry-After": "7"}), Answer(200)]
    clock = Clock()
    assert client(host, clock).apply(CM) == CM
    assert clock.slept == [7.0]  # longer than the computed 0.25 s
    assert script.requests[0][0] == "PATCH"


def test_retry_after_is_capped(server: tuple[str, Script]) -> None:
    host, script = server
    script.answers = [Answer(503, headers={"Retry-After": "3600"}), Answer(200)]
    clock = Clock()
    client(host, clock, backoff=Backoff(most_retry_after=20.0)).get("v1", "ConfigMap", "cm", "ns")
    assert clock.slept == [20.0]
    # urllib3 did not retry on its own (it would sleep the hour, unseen by the policy)
    assert len(script.requests) == 2


def test_jitter_shortens_the_delay_by_the_drawn_share(server: tuple[str, Script]) -> None:
    host, script = server
    script.answers = [Answer(500), Answer(500), Answer(200)]
    clock = Clock()
    draws = iter([0.5, 0.999])
    kube = client(host, clock, backoff=Backoff(first=2.0, jitter=0.5), draw=lambda: next(draws))
    kube.get("v1", "ConfigMap", "cm", "ns")
    assert clock.slept == pytest.approx([2.0 * 0.75, 4.0 * (1 - 0.5 * 0.999)])


# --- 401: credentials reloaded once ------------------------------------------------------


def test_401_reloads_credentials_once_and_repeats(server: tuple[str, Script]) -> None:
    host, script = server
    script.answers = [Answer(200)]
    script.valid_token = "fresh"
    reloads: list[str] = []

    def reload() -> k8s_client.ApiClient:
        reloads.append("fresh")
        return api_client(host, "fresh")

    clock = Clock()
    assert client(host, clock, reload=reload).get("v1", "ConfigMap", "cm", "ns") == CM
    assert [token for _, _, token in script.requests] == ["Bearer old", "Bearer fresh"]
    assert reloads == ["fresh"]
    assert clock.slept == []  # a reload is not a backoff


def test_401_after_the_reload_is_raised(server: tuple[str, Script]) -> None:
    host, script = server
    script.answers = [Answer(200)]
    script.valid_token = "never-issued"
    reloads: list[str] = []

    def reload() -> k8s_client.ApiClient:
        reloads.append("still-wrong")
        return api_client(host, "still-wrong")

    with pytest.raises(Unauthorized, match="token expired"):
        client(host, Clock(), reload=reload).get("v1", "ConfigMap", "cm", "ns")
    assert reloads == ["still-wrong"]
    assert len(script.requests) == 2


def test_401_without_a_reload_is_raised_at_once(server: tuple[str, Script]) -> None:
    host, script = server
    script.answers = [Answer(200)]
    script.valid_token = "fresh"
    with pytest.raises(Unauthorized):
        client(host, Clock()).get("v1", "ConfigMap", "cm", "ns")
    assert len(script.requests) == 1


def test_a_reload_does_not_use_up_an_attempt(server: tuple[str, Script]) -> None:
    host, script = server
    script.answers = [Answer(503), Answer(200)]
    script.valid_token = "fresh"
    clock = Clock()
    kube = client(
        host, clock, backoff=Backoff(attempts=2), reload=lambda: api_client(host, "fresh")
    )
    assert kube.get("v1", "ConfigMap", "cm", "ns") == CM
    assert len(script.requests) == 3  # 401, 503, 200
    assert clock.slept == [0.25]


# --- the policy as a pure function -----------------------------------------------------


@pytest.mark.parametrize(
    ("retry", "draw", "retry_after", "expected"),
    [
        (0, 0.0, None, 0.25),
        (1, 0.0, None, 0.5),
        (5, 0.0, None, 8.0),  # 0.25 * 32 capped at 8
        (10, 0.0, None, 8.0),
        (0, 0.5, None, 0.1875),  # a quarter taken off
        (3, 0.999999, None, 1.000001),  # at most half taken off: [1, 2] for the 4th
        (0, 0.0, 5.0, 5.0),  # Retry-After beats the computed delay
        (5, 0.0, 1.0, 8.0),  # ... but never shortens it
        (0, 0.0, 120.0, 30.0),  # capped at most_retry_after
    ],
)
def test_delay_table(retry: int, draw: float, retry_after: float | None, expected: float) -> None:
    assert Backoff().delay(retry, draw=draw, retry_after=retry_after) == pytest.approx(expected)


@pytest.mark.parametrize("retry", range(8))
def test_jitter_stays_within_its_bounds(retry: int) -> None:
    b = Backoff()
    full = min(b.most, b.first * 2**retry)
    for draw in (0.0, 0.25, 0.5, 0.75, 0.999999):
        assert full * (1 - b.jitter) <= b.delay(retry, draw=draw) <= full


@pytest.mark.parametrize(
    ("value", "expected"), [(None, None), ("3", 3.0), (" 1.5 ", 1.5), ("-1", None), ("soon", None)]
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attempts": 0}, "Backoff.attempts: must be at least 1, got 0"),
        ({"jitter": 1.5}, "Backoff.jitter: must be between 0 and 1, got 1.5"),
    ],
)
def test_backoff_rejects_bad_settings(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Backoff(**kwargs)  # type: ignore[arg-type]


def test_a_failed_handshake_names_the_address_not_a_decoding_error(
    server: tuple[str, Script],
) -> None:
    """HTTPS to a server that speaks plain HTTP: the kubernetes client fails decoding the
    empty body of its own status-0 exception; the client names the handshake instead."""
    url, _ = server
    tls_url = url.replace("http://", "https://")
    with pytest.raises(TLSFailure, match=rf"^TLS with {tls_url} failed: SSLError .*SSL"):
        client(tls_url, Clock()).get("v1", "ConfigMap", "cm", "ns")
