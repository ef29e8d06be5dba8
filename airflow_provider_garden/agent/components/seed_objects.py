"""The common shape of a component made of objects in the shoot's control-plane namespace.

``deploy`` applies them, ``destroy`` deletes them in reverse order (the foreground
deletion of ``KubeClient.delete`` also removes their pods), ``wait_cleanup`` checks
each object is gone. Subclasses say which objects and how readiness is read.
"""

from __future__ import annotations

import logging

from airflow_provider_garden.agent.components.scheduling import Placement
from airflow_provider_garden.core.component import NotReady
from airflow_provider_garden.core.controlplane.manifests import ControlPlane
from airflow_provider_garden.kube.client import KubeClient, Manifest
from airflow_provider_garden.kube.workload import deployment_available

log = logging.getLogger(__name__)
Ref = tuple[str, str, str, str | None]  # apiVersion, kind, name, namespace


def ref(obj: Manifest) -> Ref:
    meta = obj["metadata"]
    return (obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))


def describe(r: Ref) -> str:
    _, kind, name, namespace = r
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


class SeedObjects:
    """Objects a component owns in the seed; override :meth:`manifests` and :meth:`wait`."""

    name = ""

    def __init__(self, kube: KubeClient, cp: ControlPlane) -> None:
        self.kube = kube
        self.cp = cp
        self._placements: dict[str, Placement] = {}

    def manifests(self) -> list[Manifest]:
        """What ``deploy`` applies, in order."""
        raise NotImplementedError

    def owned(self) -> list[Ref]:
        """What ``destroy`` removes: by default what ``deploy`` applies."""
        return [ref(obj) for obj in self.manifests()]

    def deploy(self) -> None:
        for obj in self.manifests():
            self.kube.apply(obj)

    def wait(self) -> None:
        return None

    def not_ready(self, app: str, message: str) -> NotReady:
        """``NotReady(message)`` to retry; raises KnownCause instead when the pods of
        ``app`` found no room in the seed (waiting on would not help)."""
        placement = self._placements.setdefault(
            app, Placement(self.kube, self.cp.namespace, f"app={app}")
        )
        placement.check()
        return NotReady(message)

    def destroy(self) -> None:
        for r in reversed(self.owned()):
            if self.kube.delete(*r):
                log.info("%s: deleting %s", self.name, describe(r))

    def wait_cleanup(self) -> None:
        left = [describe(r) for r in self.owned() if self.kube.find(*r) is not None]
        if left:
            raise NotReady(f"{self.name}: still there: {', '.join(left)}")


class ControlPlaneDeployment(SeedObjects):
    """A component that is one Deployment of the control plane, named as its app."""

    def render(self) -> Manifest:
        raise NotImplementedError

    def manifests(self) -> list[Manifest]:
        return [self.render()]

    def available(self) -> bool:
        return deployment_available(self.kube, self.cp.namespace, self.name)

    def wait(self) -> None:
        if not self.available():
            raise self.not_ready(self.name, f"{self.name} is not available yet")
