"""An in-memory seed for the `garden` command's unit tests: only the kube client layer
is faked (tests/unit/cli/conftest.py's ``seed`` fixture hands it to every command).

Reads of a missing object fail as the API server's 404 does (``NotFound``, with its
message), so every layer above the client runs as it would against a seed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from airflow_provider_garden.core.project import Member, Project, Role, project_resource
from airflow_provider_garden.kube.client import Manifest
from airflow_provider_garden.kube.errors import ApiError, NotFound
from airflow_provider_garden.kube.projects import PROJECT_API_VERSION
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION, resource_for

Key = tuple[str, str, str | None, str]  # apiVersion, kind, namespace, name


class FakeKube:
    """The verbs the CLI uses, over a dict of objects."""

    def __init__(self) -> None:
        self.objects: dict[Key, Manifest] = {}
        #: when set, every request fails with it (an API server that refuses the user)
        self.refusal: ApiError | None = None
        #: (phase, termination message) of each Pod created next, in order
        self.pod_results: list[tuple[str, str]] = []

    def _answer(self) -> None:
        if self.refusal is not None:
            raise self.refusal

    def put(self, manifest: Manifest) -> Manifest:
        meta = manifest["metadata"]
        key = (manifest["apiVersion"], manifest["kind"], meta.get("namespace"), meta["name"])
        meta.setdefault("uid", f"uid-{meta['name']}")
        meta.setdefault("creationTimestamp", "2026-12-01T00:00:00Z")
        self.objects[key] = copy.deepcopy(manifest)
        return manifest

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Manifest:
        self._answer()
        try:
            return copy.deepcopy(self.objects[(api_version, kind, namespace, name)])
        except KeyError:
            r = resource_for(api_version, kind)
            group = api_version.rpartition("/")[0]
            what = f"{r.plural}.{group}" if group else r.plural
            raise NotFound(
                {"code": 404, "reason": "NotFound", "message": f'{what} "{name}" not found'}
            ) from None

    def find(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> Manifest | None:
        try:
            return self.get(api_version, kind, name, namespace)
        except NotFound:
            return None

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, **_: Any
    ) -> list[Manifest]:
        self._answer()
        return [
            copy.deepcopy(obj)
            for (v, k, ns, _name), obj in sorted(self.objects.items(), key=lambda i: str(i[0]))
            if (v, k) == (api_version, kind) and (namespace is None or ns == namespace)
        ]

    def apply(self, manifest: Manifest, **_: Any) -> Manifest:
        self._answer()
        return self.put(manifest)

    def create(self, manifest: Manifest) -> Manifest:
        """A Pod created here has ended at once with the next of ``pod_results``: its
        phase and its container's termination message (what an agent pod returns)."""
        self._answer()
        if manifest["kind"] == "Pod":
            phase, message = self.pod_results.pop(0)
            terminated = {"exitCode": 0 if phase == "Succeeded" else 1, "message": message}
            manifest = {
                **manifest,
                "status": {
                    "phase": phase,
                    "containerStatuses": [{"state": {"terminated": terminated}}],
                },
            }
        return self.put(manifest)

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> None:
        self._answer()
        self.objects.pop((api_version, kind, namespace, name), None)

    def wait_for(self, what: str, ready: Callable[[], bool], **_: Any) -> None:
        if not ready():  # nothing here changes by itself: not ready now is never ready
            raise TimeoutError(f"timed out waiting for {what}")


def project(name: str, owner: str = "alice") -> Manifest:
    return project_resource(
        Project(name, owner=owner, members=(Member(owner, Role.ADMIN),)),
        api_version=PROJECT_API_VERSION,
    )


def shoot(project_name: str, name: str, **status: Any) -> Manifest:
    return {
        "apiVersion": SHOOT_API_VERSION,
        "kind": "Shoot",
        "metadata": {"name": name, "namespace": f"garden-{project_name}"},
        "spec": {
            "kubernetes": {"version": "1.32.3"},
            "workers": [
                {
                    "name": "pool-a",
                    "machine": {
                        "type": "local",
                        "image": {"name": "gardenlinux", "version": "1592.2"},
                    },
                    "minimum": 1,
                    "maximum": 3,
                }
            ],
        },
        **({"status": status} if status else {}),
    }
