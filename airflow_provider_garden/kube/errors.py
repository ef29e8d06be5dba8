"""API errors by meaning: one class per status the provider acts on.

`raise_for(err)` turns the client library's `ApiException` into the class of its
status, carrying the server's Status object (reason, message, details). Callers
catch `NotFound` or `Conflict` instead of comparing `err.status` with numbers.

    ApiError
    ├── ClientError (4xx)
    │   ├── Unauthorized (401)    credentials expired or wrong
    │   ├── Forbidden (403)       RBAC says no
    │   ├── NotFound (404)        also a LookupError
    │   ├── Conflict (409)        resourceVersion moved, or the object exists
    │   ├── Invalid (422)         the server rejected the object's content
    │   └── TooManyRequests (429) throttled, or an eviction a budget refuses
    └── ServerError (5xx)
        └── Unavailable (502, 503, 504)

`TLSFailure` is no answer at all: the handshake with the address failed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol


class ApiError(RuntimeError):
    """A request the API server answered with an error.

    :param status: the server's Status object (``code``, ``reason``, ``message``, ``details``).
    :param headers: the response headers (``Retry-After`` among them).
    """

    def __init__(self, status: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.code = int(status.get("code") or 0)
        self.reason = str(status.get("reason") or "")
        self.message = str(status.get("message") or "")
        self.headers = headers or {}
        super().__init__(f"{self.code} {self.reason}: {self.message}".rstrip(": "))

    @property
    def retry_after(self) -> str | None:
        """The raw ``Retry-After`` header, if the server sent one."""
        for key, value in self.headers.items():
            if key.lower() == "retry-after":
                return value
        return None


class ClientError(ApiError):
    """4xx: the request itself is at fault; retrying it unchanged does not help."""


class Unauthorized(ClientError):
    """401: the credentials are not (or no longer) accepted."""


class Forbidden(ClientError):
    """403: authenticated, but RBAC does not allow this verb on this object."""


class NotFound(ClientError, LookupError):
    """404: no such object (or no such kind at that path)."""


class Conflict(ClientError):
    """409: written concurrently (stale resourceVersion), or it already exists."""


class Invalid(ClientError):
    """422: the object breaks a schema or an immutability rule."""


class TooManyRequests(ClientError):
    """429: throttled by the server; for evictions, a disruption budget refuses."""


class ServerError(ApiError):
    """5xx: the server failed; the same request may succeed later."""


class Unavailable(ServerError):
    """502/503/504: the server or a proxy in front of it is not answering for now."""


_BY_CODE: dict[int, type[ApiError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: Invalid,
    429: TooManyRequests,
    502: Unavailable,
    503: Unavailable,
    504: Unavailable,
}


def error_class(code: int) -> type[ApiError]:
    """The class for an HTTP status code: exact where named, else by its hundred."""
    if code in _BY_CODE:
        return _BY_CODE[code]
    if 400 <= code < 500:
        return ClientError
    if code >= 500:
        return ServerError
    return ApiError


class TLSFailure(ConnectionError):
    """The TLS handshake failed: the address answered with a certificate the CA does not
    sign (another server there, a stale address) or not in TLS at all."""


class HttpFailure(Protocol):
    """What both client libraries' ApiException carry (kubernetes and kubernetes_asyncio)."""

    @property
    def status(self) -> int | None: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def body(self) -> Any: ...
    @property
    def headers(self) -> Mapping[str, Any] | None: ...


def from_exception(err: HttpFailure) -> ApiError:
    """The typed error for a client library's ApiException, with the server's Status."""
    try:
        body = json.loads(err.body or "{}")
    except (TypeError, ValueError):
        body = {}
    status: dict[str, Any] = body if isinstance(body, dict) else {}
    code = int(err.status or 0) or int(status.get("code") or 0)
    status["code"] = code
    status.setdefault("reason", err.reason or "")
    headers = {str(k): str(v) for k, v in (err.headers or {}).items()}
    return error_class(code)(status, headers)
