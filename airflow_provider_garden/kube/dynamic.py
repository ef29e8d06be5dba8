"""Any kind the server serves, found through discovery: for applying user manifests.

`KubeClient` knows the provider's own kinds from a static table; a kustomize
overlay may contain anything, including kinds whose CRD it creates itself. This
client asks the server (one discovery request per API group version, cached;
`forget` drops a group version after a CRD for it is established) and reuses
KubeClient's request path, so retries, backoff and the 401 reload are the same.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from airflow_provider_garden.core.manifest import Manifest
from airflow_provider_garden.kube.client import (
    FIELD_MANAGER,
    KubeClient,
    load_api_client,
)
from airflow_provider_garden.kube.errors import NotFound


@dataclass(frozen=True)
class ApiResource:
    api_version: str
    kind: str
    plural: str
    namespaced: bool

    def path(self, namespace: str = "", name: str = "") -> str:
        base = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        if self.namespaced:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return f"{base}/{name}" if name else base


class UnknownKind(LookupError):
    """The server does not serve this apiVersion/kind (yet)."""


class DynamicClient(KubeClient):
    """Server-side apply, dry-run, get and delete for any served kind."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._kinds: dict[str, dict[str, ApiResource]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_kubeconfig(cls, kubeconfig: str | None = None) -> DynamicClient:
        return cls(
            api_client=load_api_client(kubeconfig), reload=lambda: load_api_client(kubeconfig)
        )

    def resource(self, api_version: str, kind: str) -> ApiResource:
        with self._lock:
            if api_version not in self._kinds:
                self._kinds[api_version] = self._discover(api_version)
            found = self._kinds[api_version].get(kind)
        if found is None:
            raise UnknownKind(f"the server does not serve {kind} in {api_version}")
        return found

    def forget(self, api_version: str) -> None:
        with self._lock:
            self._kinds.pop(api_version, None)

    def _discover(self, api_version: str) -> dict[str, ApiResource]:
        path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        try:
            listing = self._call("GET", path)
        except NotFound:
            return {}
        return {
            r["kind"]: ApiResource(api_version, r["kind"], r["name"], bool(r["namespaced"]))
            for r in listing.get("resources") or []
            if "/" not in r["name"]  # subresources such as deployments/scale
        }

    def read(self, res: ApiResource, name: str, namespace: str = "") -> Manifest | None:
        try:
            obj: Manifest = self._call("GET", res.path(namespace, name))
        except NotFound:
            return None
        return obj

    def server_side_apply(
        self, res: ApiResource, obj: Manifest, *, force: bool, dry_run: bool
    ) -> Manifest:
        meta = obj["metadata"]
        query = [("fieldManager", FIELD_MANAGER), ("force", "true" if force else "false")]
        if dry_run:
            query.append(("dryRun", "All"))
        result: Manifest = self._call(
            "PATCH",
            res.path(meta.get("namespace", ""), meta["name"]),
            body=obj,
            query=query,
            content_type="application/apply-patch+yaml",
        )
        return result

    def delete_object(
        self,
        res: ApiResource,
        name: str,
        namespace: str = "",
        *,
        uid: str = "",
        propagation: str = "Background",
    ) -> bool:
        """Delete (only the object with ``uid`` when given); False when already gone."""
        body: dict[str, Any] = {"propagationPolicy": propagation}
        if uid:
            body["preconditions"] = {"uid": uid}
        try:
            self._call("DELETE", res.path(namespace, name), body=body)
        except NotFound:
            return False
        return True
