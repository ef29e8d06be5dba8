"""One small client for every kind in `resources.py`, on a plain kubernetes ApiClient.

Shared by the agent (pod side, in-cluster credentials) and the hooks (Airflow
side, credentials from a connection). Every call goes through `_call`, which
raises the error class of the answer's status (`errors.py`), retries what is
worth retrying (429, 5xx, dropped connections) after the delay `Backoff` gives
(jittered, bounded, at least the server's Retry-After) and reloads credentials
once on 401 (REQUIREMENTS 10). Sleep and the jitter's random draw are injected,
so the policy is tested without waiting.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from airflow_provider_garden.core.manifest import Manifest
from airflow_provider_garden.kube.errors import (
    ApiError,
    NotFound,
    ServerError,
    TLSFailure,
    TooManyRequests,
    Unauthorized,
    from_exception,
)
from airflow_provider_garden.kube.resources import Resource, resource_for

__all__ = ["FIELD_MANAGER", "ApiError", "Backoff", "KubeClient", "Manifest", "NotFound"]

FIELD_MANAGER = "airflow-provider-garden"
_OBJECT_RESPONSES = {200: "object", 201: "object", 202: "object"}


@dataclass(frozen=True)
class Backoff:
    """How often and how long `KubeClient` waits before repeating a failed request.

    The n-th retry (n from 0) waits ``min(most, first * 2**n)`` shortened by a random
    share of up to ``jitter`` (so clients that failed together do not retry together),
    but never less than the server's Retry-After, itself capped at ``most_retry_after``.
    """

    #: requests in all, the first one included (a repeat after a credential reload aside)
    attempts: int = 6
    #: seconds before the first retry, doubled for each further one
    first: float = 0.25
    #: the longest computed delay, in seconds
    most: float = 8.0
    #: share of a delay that jitter may take off, 0 to 1
    jitter: float = 0.5
    #: the longest Retry-After honoured, in seconds
    most_retry_after: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"Backoff.attempts: must be at least 1, got {self.attempts}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"Backoff.jitter: must be between 0 and 1, got {self.jitter}")

    def delay(self, retry: int, *, draw: float, retry_after: float | None = None) -> float:
        """Seconds before retry number `retry` (0-based); `draw` is uniform in [0, 1)."""
        computed = min(self.most, self.first * 2.0**retry) * (1 - self.jitter * draw)
        if retry_after is None:
            return computed
        return max(computed, min(retry_after, self.most_retry_after))


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds; None when absent or not a number of seconds.

    (The API server sends whole seconds; the HTTP-date form is not used by it.)
    """
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def own_retries(api: k8s_client.ApiClient) -> k8s_client.ApiClient:
    """Switch off urllib3's own retries, so `Backoff` is the only retry policy.

    By default urllib3 repeats a request up to three times by itself, sleeping any
    Retry-After of a 429 or 503 however long, out of sight of the caller's policy
    and its injected sleep. Its pools take the setting when created: drop the old.
    """
    pools = api.rest_client.pool_manager
    pools.connection_pool_kw["retries"] = False
    pools.clear()
    return api


def _retryable(err: ApiError) -> bool:
    return isinstance(err, TooManyRequests | ServerError)


def load_api_client(kubeconfig: str | None = None) -> k8s_client.ApiClient:
    """In-cluster credentials inside a pod, else the given or default kubeconfig."""
    if (
        kubeconfig is None
        and os.environ.get("KUBERNETES_SERVICE_HOST")
        and not os.environ.get("KUBECONFIG")
    ):
        configuration = k8s_client.Configuration()
        k8s_config.load_incluster_config(client_configuration=configuration)
        return k8s_client.ApiClient(configuration)
    return k8s_config.new_client_from_config(config_file=kubeconfig)


class KubeClient:
    """Get, list, apply (server-side), patch and delete the provider's kinds."""

    def __init__(
        self,
        *,
        api_client: k8s_client.ApiClient,
        reload: Callable[[], k8s_client.ApiClient] | None = None,
        backoff: Backoff = Backoff(),
        sleep: Callable[[float], None] = time.sleep,
        draw: Callable[[], float] = random.random,
        timeout: float = 30.0,
    ) -> None:
        """:param reload: makes a fresh ApiClient; called once after a 401.
        :param backoff: the retry policy. :param sleep: waits; tests pass a recorder.
        :param draw: the jitter's random number in [0, 1). :param timeout: per request, seconds.
        """
        self.api = own_retries(api_client)
        self._timeout = timeout
        self._reload = reload
        self.backoff = backoff
        self._sleep = sleep
        self._draw = draw
        # Called before every attempt of every request; raising stops the request (a
        # lease-guarded copy raises LeaseLost once its operation lost the lease).
        self.before_request: Callable[[], None] | None = None

    @classmethod
    def from_kubeconfig(cls, kubeconfig: str | None = None) -> KubeClient:
        return cls(
            api_client=load_api_client(kubeconfig), reload=lambda: load_api_client(kubeconfig)
        )

    # --- the one request path -------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: list[tuple[str, str]] | None = None,
        content_type: str = "application/json",
    ) -> Any:
        reloaded = False
        retries = 0  # a credential reload is not a retry: it does not count
        while True:
            if self.before_request is not None:
                self.before_request()
            try:
                data, _, _ = self.api.call_api(
                    path,
                    method,
                    query_params=query or [],
                    header_params={"Accept": "application/json", "Content-Type": content_type},
                    body=body,
                    auth_settings=["BearerToken"],
                    response_types_map=_OBJECT_RESPONSES,
                    _return_http_data_only=False,
                    _preload_content=True,
                    _request_timeout=self._timeout,
                )
                return data
            except ApiException as exc:
                err = from_exception(exc)
                if isinstance(err, Unauthorized) and not reloaded and self._reload is not None:
                    self.api = own_retries(self._reload())
                    reloaded = True
                    continue
                if not _retryable(err) or retries == self.backoff.attempts - 1:
                    raise err from None
                retry_after = parse_retry_after(err.retry_after)
                self._sleep(self.backoff.delay(retries, draw=self._draw(), retry_after=retry_after))
            except (urllib3.exceptions.HTTPError, ConnectionError):
                if retries == self.backoff.attempts - 1:
                    raise
                self._sleep(self.backoff.delay(retries, draw=self._draw()))
            except AttributeError as exc:
                # kubernetes' ApiClient turns a failed handshake into ApiException(status=0)
                # and then fails decoding its empty body: name the handshake instead.
                failed = exc.__context__
                if not (isinstance(failed, ApiException) and failed.status == 0):
                    raise
                host = self.api.configuration.host
                reason = " ".join(str(failed.reason).split())
                raise TLSFailure(f"TLS with {host} failed: {reason}") from None
            retries += 1

    # --- verbs ------------------------------------------------------------
    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Manifest:
        r = resource_for(api_version, kind)
        result: Manifest = self._call("GET", r.path(namespace, name))
        return result

    def find(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> Manifest | None:
        try:
            return self.get(api_version, kind, name, namespace)
        except NotFound:
            return None

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Manifest]:
        r = resource_for(api_version, kind)
        path = _all_namespaces_path(r) if namespace is None and r.namespaced else r.path(namespace)
        query = [("labelSelector", label_selector)] if label_selector else []
        if field_selector:
            query.append(("fieldSelector", field_selector))
        items: list[Manifest] = self._call("GET", path, query=query)["items"]
        return items

    def apply(self, manifest: Manifest, *, force: bool = True) -> Manifest:
        """Server-side apply under this provider's field manager."""
        r = resource_for(manifest["apiVersion"], manifest["kind"])
        meta = manifest["metadata"]
        query = [("fieldManager", FIELD_MANAGER), ("force", "true" if force else "false")]
        result: Manifest = self._call(
            "PATCH",
            r.path(meta.get("namespace"), meta["name"]),
            body=manifest,
            query=query,
            content_type="application/apply-patch+yaml",
        )
        return result

    def merge_patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        patch: Manifest,
        namespace: str | None = None,
        *,
        subresource: str | None = None,
    ) -> Manifest:
        path = resource_for(api_version, kind).path(namespace, name)
        if subresource:
            path += f"/{subresource}"
        result: Manifest = self._call(
            "PATCH", path, body=patch, content_type="application/merge-patch+json"
        )
        return result

    def create(self, manifest: Manifest) -> Manifest:
        r = resource_for(manifest["apiVersion"], manifest["kind"])
        result: Manifest = self._call(
            "POST", r.path(manifest["metadata"].get("namespace")), body=manifest
        )
        return result

    def replace(self, manifest: Manifest) -> Manifest:
        """PUT with the manifest's resourceVersion: fails with 409 if someone wrote in between."""
        r = resource_for(manifest["apiVersion"], manifest["kind"])
        meta = manifest["metadata"]
        result: Manifest = self._call(
            "PUT", r.path(meta.get("namespace"), meta["name"]), body=manifest
        )
        return result

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete in the foreground; False when it was already gone."""
        r = resource_for(api_version, kind)
        try:
            self._call(
                "DELETE",
                r.path(namespace, name),
                body={"propagationPolicy": "Foreground"},
            )
        except NotFound:
            return False
        return True

    def raw(self, method: str, path: str) -> Any:
        return self._call(method, path)

    def wait_for(
        self,
        what: str,
        probe: Callable[[], bool],
        *,
        timeout: float,
        interval: float = 1.0,
    ) -> None:
        deadline = time.monotonic() + timeout
        while not probe():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
            time.sleep(interval)


def _all_namespaces_path(r: Resource) -> str:
    base = "/api/v1" if r.api_version == "v1" else f"/apis/{r.api_version}"
    return f"{base}/{r.plural}"
