"""Run one short `garden-agent` verb in a pod of the seed and read its JSON result.

For work that needs a volume or Secret only the seed can mount (listing or dropping
snapshots) but no Airflow task of its own: `garden backups ls` and garden_backup's
expiry of deleted shoots' snapshots. The pod has no API token and runs as the
toolbox user; its result is its termination message.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

from airflow_provider_garden.core.manifest import Manifest
from airflow_provider_garden.core.toolbox import TOOLBOX_IMAGE, TOOLBOX_UID
from airflow_provider_garden.kube.client import KubeClient


class AgentPodError(RuntimeError):
    """The verb failed; the message holds the end of its output."""


def agent_pod(
    namespace: str,
    args: list[str],
    volumes: list[Manifest],
    mounts: list[Manifest],
    *,
    name: str,
    service_account: str | None = None,
) -> Manifest:
    image = os.environ.get("GARDEN_TOOLBOX_IMAGE", TOOLBOX_IMAGE)
    spec: Manifest = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": TOOLBOX_UID,
            "runAsGroup": TOOLBOX_UID,
            "fsGroup": TOOLBOX_UID,
        },
        "containers": [
            {
                "name": "agent",
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "command": ["garden-agent", *args],
                "volumeMounts": mounts,
                "terminationMessagePolicy": "FallbackToLogsOnError",
            }
        ],
        "volumes": volumes,
    }
    if service_account:
        spec["serviceAccountName"] = service_account
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"{name}-{uuid.uuid4().hex[:6]}", "namespace": namespace},
        "spec": spec,
    }


def run_agent_pod(kube: KubeClient, pod: Manifest, *, timeout: float = 120) -> dict[str, Any]:
    """Create the pod, wait for it to end, return its JSON result; the pod is deleted."""
    namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    kube.create(pod)
    try:
        kube.wait_for(
            f"pod {namespace}/{name}",
            lambda: (
                (kube.get("v1", "Pod", name, namespace).get("status") or {}).get("phase")
                in ("Succeeded", "Failed")
            ),
            timeout=timeout,
        )
        done = kube.get("v1", "Pod", name, namespace)
        state = done["status"]["containerStatuses"][0]["state"].get("terminated") or {}
        if done["status"]["phase"] != "Succeeded":
            raise AgentPodError(
                f"pod {namespace}/{name} failed: {state.get('message', '').strip()[-500:]}"
            )
        result: dict[str, Any] = json.loads(state["message"])
        return result
    finally:
        kube.delete("v1", "Pod", name, namespace)
