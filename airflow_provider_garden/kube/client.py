"""One small client for every kind in `resources.py`, on a plain kubernetes ApiClient.

Shared by the agent (pod side, in-cluster credentials) and the hooks (Airflow
side, credentials from a connection). Every call goes through `_call`, which
retries what is worth retrying (429, 5xx, dropped connections) with bounded,
jittered backoff and reloads credentials once on 401 (REQUIREMENTS 10).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import urllib3
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from airflow_provider_garden.kube.resources import Resource, resource_for

FIELD_MANAGER = "airflow-provider-garden"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_OBJECT_RESPONSES = {200: "object", 201: "object", 202: "object"}

Manifest = dict[str, Any]


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


class NotFound(LookupError):
    pass


class KubeClient:
    """Get, list, apply (server-side), patch and delete the provider's kinds."""

    def __init__(
        self,
        *,
        api_client: k8s_client.ApiClient,
        reload: Callable[[], k8s_client.ApiClient] | None = None,
        attempts: int = 6,
        max_backoff: float = 8.0,
        timeout: float = 30.0,
    ) -> None:
        self.api = api_client
        self._timeout = timeout
        self._reload = reload
        self._attempts = attempts
        self._max_backoff = max_backoff

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
        for attempt in range(self._attempts):
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
            except ApiException as err:
                if err.status == 404:
                    raise NotFound(f"{method} {path}: not found") from None
                if err.status == 401 and not reloaded and self._reload is not None:
                    self.api = self._reload()
                    reloaded = True
                    continue
                if err.status not in RETRY_STATUSES or attempt == self._attempts - 1:
                    raise
                self._sleep(attempt, err.headers.get("Retry-After") if err.headers else None)
            except (urllib3.exceptions.HTTPError, ConnectionError):
                if attempt == self._attempts - 1:
                    raise
                self._sleep(attempt, None)
        raise AssertionError("unreachable")  # pragma: no cover

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = min(self._max_backoff, 0.25 * 2**attempt)
        if retry_after and retry_after.isdigit():
            delay = min(self._max_backoff, float(retry_after))
        time.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not crypto

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
    ) -> list[Manifest]:
        r = resource_for(api_version, kind)
        path = _all_namespaces_path(r) if namespace is None and r.namespaced else r.path(namespace)
        query = [("labelSelector", label_selector)] if label_selector else []
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


def iter_conditions(obj: Manifest) -> Iterator[Manifest]:
    yield from (obj.get("status") or {}).get("conditions") or []
