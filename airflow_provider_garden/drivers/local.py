"""The ``local`` machine driver: machines are kwok-managed Node objects in the shoot.

No virtual machines exist on a laptop. A machine here is a Node the driver
creates in the shoot's API server; kwok, running as the shoot's machine
controller in its control-plane namespace of the seed, plays the kubelet of
every such node: it reports the node Ready, renews its lease, and runs the pods
scheduled to it (they become Running with an IP from the shoot's pod range).

Like a real kubelet, a new node registers with the ``not-ready`` NoSchedule
taint; the shoot's node lifecycle controller lifts it once kwok reports Ready.

Tests inject boot behaviour through the Shoot's annotations (the driver's
configuration, see :class:`LocalDriverConfig`), which the driver copies onto
each new node for kwok's stages (``kwok_stages.yaml``) to read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Protocol

import yaml

from airflow_provider_garden.core.controlplane.manifests import ControlPlane
from airflow_provider_garden.core.manifest import Manifest
from airflow_provider_garden.core.shoot_spec import Worker
from airflow_provider_garden.drivers.base import (
    LABEL_IMAGE_NAME,
    LABEL_IMAGE_VERSION,
    LABEL_MACHINE_TYPE,
    LABEL_POOL,
    MachineState,
    ShootApi,
)

# The image the local seed builds (localseed/versions.py KWOK; a unit test keeps them equal).
KWOK_VERSION = "v0.7.0"
KWOK_IMAGE = f"registry.k8s.io/kwok/kwok:{KWOK_VERSION}"
KWOK_NAME = "kwok-controller"
KWOK_USER = "system:kwok-controller"  # CN of its client certificate (controlplane/secrets.py)
KWOK_KUBECONFIG_SECRET = "kwok-controller-kubeconfig"
KWOK_HEALTH_PORT = 10247
NODE_LEASE_SECONDS = 40  # a kubelet's default
# kwok manages only nodes carrying this annotation, never nodes of other origins.
MANAGED_ANNOTATION = "kwok.x-k8s.io/node"
MANAGED_VALUE = "fake"
# Read by the stages in kwok_stages.yaml.
NODE_BOOT_DELAY = "machine.garden.airflow.io/boot-delay"
NODE_NEVER_READY = "machine.garden.airflow.io/never-ready"
# Set on a Ready node (by tests, through inject_not_ready): kwok reports it NotReady.
NODE_NOT_READY = "machine.garden.airflow.io/not-ready"
# On a machine created to replace an unhealthy one: that machine's name.
NODE_REPLACES = "machine.garden.airflow.io/replaces"
# On a machine created to refill a pool below its minimum (machine health's refill).
NODE_REFILL = "machine.garden.airflow.io/refill"
# The driver's configuration, as annotations of the Shoot resource.
BOOT_DELAY_ANNOTATION = "local-driver.garden.airflow.io/boot-delay"
NEVER_READY_ANNOTATION = "local-driver.garden.airflow.io/never-ready-versions"
# What a "local" machine offers the scheduler.
CAPACITY = {"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"}
NOT_READY_TAINT = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}
_DURATION = re.compile(r"(\d+)(ms|s|m|h)")
_SUFFIX_CHARS = string.ascii_lowercase + string.digits


@dataclass(frozen=True, kw_only=True)
class LocalDriverConfig:
    """Boot behaviour of new machines: a delay before Ready, and versions that never boot.

    Set on the Shoot, e.g. ``local-driver.garden.airflow.io/boot-delay: 3s`` and
    ``local-driver.garden.airflow.io/never-ready-versions: "1592.2"``.
    """

    boot_delay: str = ""  # a Go duration kwok parses: "500ms", "3s", "2m"
    never_ready_versions: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_annotations(cls, annotations: Mapping[str, str] | None) -> LocalDriverConfig:
        found = annotations or {}
        delay = found.get(BOOT_DELAY_ANNOTATION, "").strip()
        if delay and not _DURATION.fullmatch(delay):
            raise ValueError(
                f"annotation {BOOT_DELAY_ANNOTATION}: {delay!r} must be a number with "
                "ms, s, m or h (e.g. 3s)"
            )
        versions = found.get(NEVER_READY_ANNOTATION, "")
        return cls(
            boot_delay=delay,
            never_ready_versions=frozenset(v.strip() for v in versions.split(",") if v.strip()),
        )


class LocalDriver:
    """Creates, deletes and lists a shoot's kwok nodes (machine name = node name)."""

    def __init__(self, *, shoot_api: ShootApi, shoot: str, config: LocalDriverConfig) -> None:
        self.api = shoot_api
        self.shoot = shoot
        self.config = config

    def list_machines(self, pool: str) -> list[MachineState]:
        nodes = self.api.list("v1", "Node", label_selector=f"{LABEL_POOL}={pool}")
        return sorted((machine_of(n) for n in nodes), key=lambda m: m.name)

    def create_machine(self, worker: Worker, *, replaces: str = "", refill: bool = False) -> str:
        suffix = "".join(secrets.choice(_SUFFIX_CHARS) for _ in range(5))
        name = f"{self.shoot}-{worker.name}"[:57].rstrip("-") + f"-{suffix}"
        node = node_manifest(name, worker, self.config)
        if replaces:
            node["metadata"]["annotations"][NODE_REPLACES] = replaces
        if refill:
            node["metadata"]["annotations"][NODE_REFILL] = "true"
        self.api.create(node)
        return name

    def delete_machine(self, name: str) -> bool:
        return self.api.delete("v1", "Node", name)


class NodePatcher(Protocol):
    def merge_patch(self, api_version: str, kind: str, name: str, patch: Manifest) -> Manifest: ...


def inject_not_ready(api: NodePatcher, name: str) -> None:
    """Make the machine's node NotReady, as a failed kubelet would (kwok's not-ready stage).

    The node's lease is still renewed, so it stays NotReady (not Unknown) for good.
    """
    api.merge_patch("v1", "Node", name, {"metadata": {"annotations": {NODE_NOT_READY: "true"}}})


def node_manifest(name: str, worker: Worker, config: LocalDriverConfig) -> Manifest:
    """The Node of a new machine: labels say what it is, annotations how kwok boots it.

    Nodes are the one kind whose status may be set on create: capacity and the
    image go in with it, as a kubelet would register them.
    """
    annotations = {MANAGED_ANNOTATION: MANAGED_VALUE}
    if config.boot_delay:
        annotations[NODE_BOOT_DELAY] = config.boot_delay
    if worker.image.version in config.never_ready_versions:
        annotations[NODE_NEVER_READY] = "true"
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                LABEL_POOL: worker.name,
                LABEL_MACHINE_TYPE: worker.machine_type,
                LABEL_IMAGE_NAME: worker.image.name,
                LABEL_IMAGE_VERSION: worker.image.version,
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
            },
            "annotations": annotations,
        },
        "spec": {"taints": [NOT_READY_TAINT]},
        "status": {
            "capacity": CAPACITY,
            "allocatable": CAPACITY,
            "nodeInfo": {"osImage": f"{worker.image.name} {worker.image.version}"},
        },
    }


def machine_of(node: Mapping[str, Any]) -> MachineState:
    meta, spec, status = node["metadata"], node.get("spec") or {}, node.get("status") or {}
    labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    if ready is None:
        health = "booting: no Ready condition yet"
    elif ready.get("status") == "True":
        health = "Ready"
    else:
        health = (
            f"Ready={ready.get('status')}: {ready.get('reason', '')} {ready.get('message', '')}"
        )
    created = meta.get("creationTimestamp")
    changed = (ready or {}).get("lastTransitionTime")
    return MachineState(
        name=meta["name"],
        node_name=meta["name"],
        pool=labels.get(LABEL_POOL, ""),
        machine_type=labels.get(LABEL_MACHINE_TYPE, ""),
        image_name=labels.get(LABEL_IMAGE_NAME, ""),
        image_version=labels.get(LABEL_IMAGE_VERSION, ""),
        ready=ready is not None and ready.get("status") == "True",
        health=health.strip(),
        cordoned=bool(spec.get("unschedulable")),
        deleting=bool(meta.get("deletionTimestamp")),
        created=_parse_time(created) if created else None,
        ready_changed=_parse_time(changed) if changed else None,
        replaces=annotations.get(NODE_REPLACES, ""),
        refill=annotations.get(NODE_REFILL) == "true",
    )


def _parse_time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


# --- the machine controller: kwok in the shoot's control-plane namespace -----------
def kwok_stages() -> list[Manifest]:
    text = (resources.files("airflow_provider_garden.drivers") / "kwok_stages.yaml").read_text()
    return [doc for doc in yaml.safe_load_all(text) if doc]


def controller_seed_manifests(cp: ControlPlane) -> list[Manifest]:
    """kwok's config and Deployment, in the seed next to the shoot's API server.

    It reaches the API server through the in-seed Service with its own client
    certificate (Secret ``kwok-controller-kubeconfig``), and hands out pod IPs
    from the shoot's pod range.
    """
    labels = {**cp.labels, "app": KWOK_NAME}
    stages = yaml.safe_dump_all(kwok_stages(), sort_keys=False)
    config: Manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": KWOK_NAME, "namespace": cp.namespace, "labels": labels},
        "data": {"kwok.yaml": stages},
    }
    container = {
        "name": "kwok",
        "image": KWOK_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "args": [
            "--kubeconfig=/etc/kwok/kubeconfig/kubeconfig",
            "--config=/etc/kwok/config/kwok.yaml",
            f"--manage-nodes-with-annotation-selector={MANAGED_ANNOTATION}={MANAGED_VALUE}",
            f"--cidr={cp.pods_cidr}",
            # Heartbeats through node Leases, like kubelets: the node stages refresh the
            # status only every ten minutes. Without it kwok renews nothing and every
            # node turns Unknown after the node monitor's grace period.
            f"--node-lease-duration-seconds={NODE_LEASE_SECONDS}",
            "--node-ip=$(POD_IP)",
            f"--server-address=0.0.0.0:{KWOK_HEALTH_PORT}",
        ],
        "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
        "ports": [{"name": "health", "containerPort": KWOK_HEALTH_PORT}],
        # Lenient probes: a kwok restarted because a busy machine answered slowly
        # would leave every node without heartbeats for a while.
        "readinessProbe": {
            "httpGet": {"path": "/healthz", "port": KWOK_HEALTH_PORT},
            "periodSeconds": 5,
            "timeoutSeconds": 5,
        },
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": KWOK_HEALTH_PORT},
            "initialDelaySeconds": 15,
            "periodSeconds": 20,
            "timeoutSeconds": 10,
            "failureThreshold": 6,
        },
        "volumeMounts": [
            {"name": "kubeconfig", "mountPath": "/etc/kwok/kubeconfig", "readOnly": True},
            {"name": "config", "mountPath": "/etc/kwok/config", "readOnly": True},
        ],
        "resources": {"requests": {"cpu": "20m", "memory": "64Mi"}},
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": KWOK_NAME, "namespace": cp.namespace, "labels": labels},
        "spec": {
            "replicas": 1,
            # Two kwoks would both play the kubelet of every node.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": {"app": KWOK_NAME}},
            "template": {
                "metadata": {
                    "labels": labels,
                    # A changed stage file must reach the running kwok.
                    "annotations": {"checksum/config": _checksum(stages)},
                },
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "containers": [container],
                    "volumes": [
                        {
                            "name": "kubeconfig",
                            "secret": {
                                "secretName": KWOK_KUBECONFIG_SECRET,
                                "defaultMode": 0o400,
                            },
                        },
                        {"name": "config", "configMap": {"name": KWOK_NAME}},
                    ],
                },
            },
        },
    }
    return [config, deployment]


def controller_shoot_manifests() -> list[Manifest]:
    """What kwok may do in the shoot: upstream kwok's ClusterRole without its own CRDs."""
    rules: Iterable[tuple[str, list[str], list[str]]] = (
        ("", ["events"], ["create", "patch", "update"]),
        ("", ["nodes"], ["get", "list", "watch"]),
        ("", ["nodes/status", "pods/status"], ["patch", "update"]),
        ("", ["pods"], ["delete", "get", "list", "patch", "update", "watch"]),
        ("coordination.k8s.io", ["leases"], ["create", "get", "list", "patch", "update", "watch"]),
    )
    name = "garden:kwok-controller"
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name},
            "rules": [
                {"apiGroups": [group], "resources": res, "verbs": verbs}
                for group, res, verbs in rules
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": name,
            },
            "subjects": [
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": KWOK_USER}
            ],
        },
    ]


def _checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
