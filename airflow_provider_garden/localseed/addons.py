"""Cluster add-ons applied once the seed's API is up: CoreDNS and a default StorageClass.

Rendered as plain Kubernetes objects (like upstream's manifests) and applied with
server-side apply. Every pod uses ``imagePullPolicy: Never``: images come only from
the local import, and a missing one fails at once with ErrImageNeverPull instead of
trying to reach a registry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from airflow_provider_garden.localseed.build import (
    COREDNS_REF,
    PROVISIONER_HELPER_REF,
    PROVISIONER_REF,
)
from airflow_provider_garden.localseed.config import CLUSTER_DNS_IP, CLUSTER_DOMAIN
from airflow_provider_garden.localseed.errors import SeedError
from airflow_provider_garden.localseed.kubectl import Kubectl

STORAGE_CLASS = "local-path"
LOCAL_PATH_NAMESPACE = "local-path-storage"

Obj = dict[str, Any]

# No `forward` plugin: the seed answers for cluster.local only and sends no query
# off the machine.
COREFILE = f""".:53 {{
    errors
    health {{
        lameduck 5s
    }}
    ready
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }}
    prometheus :9153
    cache 30
    loop
    reload
    loadbalance
}}
"""


def _meta(name: str, namespace: str | None = None, **labels: str) -> Obj:
    meta: Obj = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = labels
    return meta


def _deployment(name: str, namespace: str, labels: dict[str, str], pod: Obj, **spec: Any) -> Obj:
    """One replica of ``pod``, its pods selected by ``labels``; ``spec`` adds to the Deployment's."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(name, namespace, **labels),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            **spec,
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }


def coredns_objects(*, image: str = COREDNS_REF) -> list[Obj]:
    labels = {"k8s-app": "kube-dns"}
    ns = "kube-system"
    container = {
        "name": "coredns",
        "image": image,
        "imagePullPolicy": "Never",
        "args": ["-conf", "/etc/coredns/Corefile"],
        "ports": [
            {"name": "dns", "containerPort": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
            {"name": "metrics", "containerPort": 9153, "protocol": "TCP"},
        ],
        "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"memory": "170Mi"}},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/coredns", "readOnly": True}],
        "livenessProbe": {
            "httpGet": {"path": "/health", "port": 8080},
            "initialDelaySeconds": 10,
            "failureThreshold": 5,
        },
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181}, "periodSeconds": 2},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
        },
    }
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta("coredns", ns)},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": _meta("system:coredns"),
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["endpoints", "services", "pods", "namespaces"],
                    "verbs": ["list", "watch"],
                },
                {
                    "apiGroups": ["discovery.k8s.io"],
                    "resources": ["endpointslices"],
                    "verbs": ["list", "watch"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": _meta("system:coredns"),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:coredns",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "coredns", "namespace": ns}],
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta("coredns", ns),
            "data": {"Corefile": COREFILE},
        },
        _deployment(
            "coredns",
            ns,
            labels,
            {
                "serviceAccountName": "coredns",
                "priorityClassName": "system-cluster-critical",
                "dnsPolicy": "Default",
                # Lets the non-root server bind port 53 without file capabilities.
                "securityContext": {
                    "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]
                },
                "containers": [container],
                "volumes": [
                    {
                        "name": "config",
                        "configMap": {
                            "name": "coredns",
                            "items": [{"key": "Corefile", "path": "Corefile"}],
                        },
                    }
                ],
            },
            strategy={"rollingUpdate": {"maxUnavailable": 1}},
        ),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta("kube-dns", ns, **labels, **{"kubernetes.io/name": "CoreDNS"}),
            "spec": {
                "selector": labels,
                "clusterIP": CLUSTER_DNS_IP,
                "ports": [
                    {"name": "dns", "port": 53, "protocol": "UDP"},
                    {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
                    {"name": "metrics", "port": 9153, "protocol": "TCP"},
                ],
            },
        },
    ]


_VOLUME_SCRIPT = """#!/bin/sh
set -eu
while getopts "m:s:p:" opt; do
    case $opt in
        p) absolutePath=$OPTARG ;;
        s) sizeInBytes=$OPTARG ;;
        m) volMode=$OPTARG ;;
    esac
done
"""


def local_path_objects(
    *,
    volumes_dir: Path,
    image: str = PROVISIONER_REF,
    helper_image: str = PROVISIONER_HELPER_REF,
) -> list[Obj]:
    """rancher/local-path-provisioner behind the default StorageClass ``local-path``.

    Volumes are directories under ``volumes_dir`` (inside the seed's state), so
    ``down --purge`` removes them with everything else.
    """
    ns = LOCAL_PATH_NAMESPACE
    sa = "local-path-provisioner"
    labels = {"app": "local-path-provisioner"}
    helper_pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "helper-pod"},
        "spec": {
            "priorityClassName": "system-node-critical",
            "containers": [
                {"name": "helper-pod", "image": helper_image, "imagePullPolicy": "Never"}
            ],
        },
    }
    config = {
        "nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": [str(volumes_dir)]}]
    }
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(ns)},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(sa, ns)},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": _meta("local-path-provisioner"),
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["nodes", "persistentvolumeclaims", "configmaps", "pods"],
                    "verbs": ["get", "list", "watch"],
                },
                {
                    "apiGroups": [""],
                    "resources": ["persistentvolumes"],
                    "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"],
                },
                {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
                {
                    "apiGroups": ["storage.k8s.io"],
                    "resources": ["storageclasses"],
                    "verbs": ["get", "list", "watch"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": _meta("local-path-provisioner"),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "local-path-provisioner",
            },
            "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}],
        },
        {
            # Helper pods (mkdir/rm of volume directories) and leader election.
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _meta("local-path-provisioner", ns),
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["pods", "endpoints"],
                    "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"],
                },
                {
                    "apiGroups": ["coordination.k8s.io"],
                    "resources": ["leases"],
                    "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": _meta("local-path-provisioner", ns),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "local-path-provisioner",
            },
            "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}],
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta("local-path-config", ns),
            "data": {
                "config.json": json.dumps(config, indent=2),
                "setup": _VOLUME_SCRIPT + 'mkdir -m 0777 -p "$absolutePath"\n',
                "teardown": _VOLUME_SCRIPT + 'rm -rf "$absolutePath"\n',
                "helperPod.yaml": json.dumps(helper_pod, indent=2),
            },
        },
        _deployment(
            "local-path-provisioner",
            ns,
            labels,
            {
                "serviceAccountName": sa,
                "priorityClassName": "system-node-critical",
                "containers": [
                    {
                        "name": "local-path-provisioner",
                        "image": image,
                        "imagePullPolicy": "Never",
                        "command": [
                            "local-path-provisioner",
                            "start",
                            "--config=/etc/config/config.json",
                            f"--service-account-name={sa}",
                            "--provisioner-name=rancher.io/local-path",
                            f"--helper-image={helper_image}",
                            "--configmap-name=local-path-config",
                        ],
                        "env": [{"name": "POD_NAMESPACE", "value": ns}],
                        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                        "volumeMounts": [{"name": "config", "mountPath": "/etc/config/"}],
                    }
                ],
                "volumes": [{"name": "config", "configMap": {"name": "local-path-config"}}],
            },
        ),
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {
                "name": STORAGE_CLASS,
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            "provisioner": "rancher.io/local-path",
            "volumeBindingMode": "WaitForFirstConsumer",
            "reclaimPolicy": "Delete",
        },
    ]


def render(objects: list[Obj]) -> str:
    """A v1 List that ``kubectl apply -f -`` takes in one call."""
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, indent=1)


def apply_addons(kubectl: Kubectl, *, volumes_dir: Path) -> None:
    kubectl.apply(render(coredns_objects() + local_path_objects(volumes_dir=volumes_dir)))


# Waiting reasons that no amount of waiting fixes: report them at once.
_HOPELESS = ("ErrImageNeverPull", "InvalidImageName", "CreateContainerConfigError")
ADDON_DEPLOYMENTS = (
    ("kube-system", "coredns"),
    (LOCAL_PATH_NAMESPACE, "local-path-provisioner"),
)


def addons_not_ready(kubectl: Kubectl) -> str | None:
    """None when every add-on Deployment is available and the StorageClass exists.

    Raises SeedError when a pod is stuck for a reason that waiting cannot fix.
    """
    for ns, name in ADDON_DEPLOYMENTS:
        proc = kubectl.try_run(
            "-n",
            ns,
            "get",
            "deployment",
            name,
            "-o",
            "jsonpath={.status.availableReplicas}",
            timeout=15,
        )
        if proc.returncode != 0:
            return f"deployment {ns}/{name}: {proc.stderr.strip()}"
        if proc.stdout.strip() in ("", "0"):
            waiting = _waiting_reasons(kubectl, ns)
            stuck = [w for w in waiting if w.split(":", 1)[0] in _HOPELESS]
            if stuck:
                raise SeedError(f"deployment {ns}/{name} cannot start: {'; '.join(stuck)}")
            return f"deployment {ns}/{name} not available: {'; '.join(waiting) or 'starting'}"
    if kubectl.try_run("get", "storageclass", STORAGE_CLASS, timeout=15).returncode != 0:
        return f"storageclass {STORAGE_CLASS} missing"
    return None


def _waiting_reasons(kubectl: Kubectl, namespace: str) -> list[str]:
    proc = kubectl.try_run("-n", namespace, "get", "pods", "-o", "json", timeout=15)
    if proc.returncode != 0:
        return []
    reasons = []
    for pod in json.loads(proc.stdout)["items"]:
        for status in pod.get("status", {}).get("containerStatuses", []):
            waiting = status.get("state", {}).get("waiting")
            if waiting:
                reasons.append(f"{waiting.get('reason')}: {waiting.get('message', '')}".strip())
    return reasons
