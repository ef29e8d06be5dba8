"""Manifests of one shoot's control plane, as it runs in the seed.

etcd is a one-member StatefulSet on a PersistentVolumeClaim; kube-apiserver,
kube-controller-manager and kube-scheduler are Deployments. Everything lives in
the shoot's control-plane namespace and mounts its credentials from the Secrets
written by `secrets.py`. Images carry their upstream names and tags so the same
manifests work on the local seed and on any cluster with registry access.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from airflow_provider_garden.core.manifest import Manifest
from airflow_provider_garden.core.seed_policy import POD_SECURITY_LABELS
from airflow_provider_garden.core.store_space import (
    ETCD_VOLUME,
    etcd_quota,
    format_size,
    parse_size,
)

MANAGED_BY = {"app.kubernetes.io/managed-by": "airflow-provider-garden"}
ETCD_IMAGE = "registry.k8s.io/etcd:3.5.16-0"
ETCD_DATA_DIR = "/var/lib/etcd/data"
ETCD_VOLUME_CLAIM = "data-etcd-0"  # volumeClaimTemplate "data" of StatefulSet "etcd"
# Where snapshots go when the shoot's backup store is `local`, and the copy of the
# user's credentials when it is `s3` (pods mount Secrets of their own namespace only).
BACKUP_VOLUME_CLAIM = "etcd-backups"
BACKUP_STORE_SECRET = "etcd-backup-store"


@dataclass(frozen=True, kw_only=True)
class ControlPlane:
    namespace: str
    project: str
    shoot: str
    kubernetes_version: str  # "v1.32.13"
    pods_cidr: str
    services_cidr: str
    apiserver_service_type: str = "ClusterIP"
    etcd_storage: str = ETCD_VOLUME  # etcd's quota derives from it (core/store_space.py)
    storage_class: str | None = None

    def image(self, component: str) -> str:
        return f"registry.k8s.io/{component}:{self.kubernetes_version}"

    @property
    def labels(self) -> dict[str, str]:
        return {
            **MANAGED_BY,
            "garden.airflow.io/project": self.project,
            "garden.airflow.io/shoot": self.shoot,
        }


def shoot_kubernetes_ip(services_cidr: str) -> str:
    """The shoot's own `kubernetes` Service IP: the first address of its service range."""
    return str(next(ipaddress.ip_network(services_cidr).hosts()))


def namespace(cp: ControlPlane) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": cp.namespace, "labels": {**cp.labels, **POD_SECURITY_LABELS}},
    }


def apiserver_service(cp: ControlPlane) -> Manifest:
    return _service(cp, "kube-apiserver", port=443, target=6443, type_=cp.apiserver_service_type)


def etcd_services(cp: ControlPlane) -> list[Manifest]:
    client = _service(cp, "etcd", port=2379, target=2379)
    headless = _service(cp, "etcd-peer", port=2380, target=2380)
    headless["spec"]["clusterIP"] = "None"
    return [client, headless]


@dataclass(frozen=True, kw_only=True)
class EtcdInit:
    """An init container of the etcd pod and the volumes it mounts beside etcd's own."""

    container: Manifest
    volumes: tuple[Manifest, ...] = ()


def etcd(cp: ControlPlane, init: EtcdInit | None = None) -> Manifest:
    """The etcd StatefulSet; ``init`` runs before etcd on the same data volume."""
    tls = "/etc/etcd/tls"
    command = [
        "etcd",
        "--name=etcd-0",
        f"--data-dir={ETCD_DATA_DIR}",
        "--listen-client-urls=https://0.0.0.0:2379",
        f"--advertise-client-urls=https://etcd.{cp.namespace}.svc:2379",
        "--listen-peer-urls=http://127.0.0.1:2380",
        "--initial-advertise-peer-urls=http://127.0.0.1:2380",
        "--initial-cluster=etcd-0=http://127.0.0.1:2380",
        "--initial-cluster-state=new",
        "--listen-metrics-urls=http://0.0.0.0:2381",
        "--client-cert-auth",
        f"--trusted-ca-file={tls}/ca.crt",
        f"--cert-file={tls}/tls.crt",
        f"--key-file={tls}/tls.key",
        "--snapshot-count=10000",
        f"--quota-backend-bytes={etcd_quota(parse_size(cp.etcd_storage))}",
    ]
    container = {
        "name": "etcd",
        "image": ETCD_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "ports": [
            {"name": "client", "containerPort": 2379},
            {"name": "metrics", "containerPort": 2381},
        ],
        "readinessProbe": {"httpGet": {"path": "/health", "port": 2381}, "periodSeconds": 2},
        "livenessProbe": _liveness({"path": "/health", "port": 2381}),
        "volumeMounts": [
            {"name": "data", "mountPath": "/var/lib/etcd"},
            {"name": "tls", "mountPath": tls, "readOnly": True},
        ],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}},
    }
    claim: Manifest = {
        "metadata": {"name": "data"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": cp.etcd_storage}},
        },
    }
    if cp.storage_class:
        claim["spec"]["storageClassName"] = cp.storage_class
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _meta(cp, "etcd"),
        "spec": {
            "serviceName": "etcd-peer",
            "replicas": 1,
            "selector": {"matchLabels": {"app": "etcd"}},
            "template": {
                "metadata": {"labels": {**cp.labels, "app": "etcd"}},
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    **({"initContainers": [init.container]} if init else {}),
                    "containers": [container],
                    "volumes": [
                        _secret_volume("tls", "etcd-server"),
                        *(init.volumes if init else ()),
                    ],
                },
            },
            "volumeClaimTemplates": [claim],
        },
    }


def apiserver(cp: ControlPlane) -> Manifest:
    etcd_tls, tls, sa = "/etc/kubernetes/etcd", "/etc/kubernetes/tls", "/etc/kubernetes/sa"
    kubelet, encryption = "/etc/kubernetes/kubelet-client", "/etc/kubernetes/encryption"
    command = [
        "kube-apiserver",
        f"--etcd-servers=https://etcd.{cp.namespace}.svc:2379",
        f"--etcd-cafile={etcd_tls}/ca.crt",
        f"--etcd-certfile={etcd_tls}/tls.crt",
        f"--etcd-keyfile={etcd_tls}/tls.key",
        "--secure-port=6443",
        f"--tls-cert-file={tls}/tls.crt",
        f"--tls-private-key-file={tls}/tls.key",
        f"--client-ca-file={tls}/ca.crt",
        f"--kubelet-client-certificate={kubelet}/tls.crt",
        f"--kubelet-client-key={kubelet}/tls.key",
        f"--service-cluster-ip-range={cp.services_cidr}",
        f"--service-account-issuer=https://kube-apiserver.{cp.namespace}.svc",
        f"--service-account-key-file={sa}/sa.pub",
        f"--service-account-signing-key-file={sa}/sa.key",
        "--authorization-mode=Node,RBAC",
        "--allow-privileged=true",
        "--enable-admission-plugins=NodeRestriction",
        "--endpoint-reconciler-type=none",
        "--profiling=false",
        f"--encryption-provider-config={encryption}/config.yaml",
    ]
    probe = {"httpGet": {"path": "/readyz", "port": 6443, "scheme": "HTTPS"}}
    return _component(
        cp,
        "kube-apiserver",
        command,
        secrets=(
            ("etcd-client", "etcd-client", etcd_tls),
            ("tls", "kube-apiserver-tls", tls),
            ("sa", "service-account-key", sa),
            ("kubelet-client", "kube-apiserver-kubelet-client", kubelet),
            ("encryption", "etcd-encryption", encryption),  # secrets.ENCRYPTION_SECRET
        ),
        liveness={"path": "/livez", "port": 6443, "scheme": "HTTPS"},
        requests={"cpu": "100m", "memory": "256Mi"},
        extra={
            "ports": [{"name": "https", "containerPort": 6443}],
            "readinessProbe": {**probe, "periodSeconds": 2},
        },
    )


def controller_manager(cp: ControlPlane) -> Manifest:
    kc, ca, sa = "/etc/kubernetes/kubeconfig", "/etc/kubernetes/ca", "/etc/kubernetes/sa"
    command = [
        "kube-controller-manager",
        *_kubeconfig_flags(f"{kc}/kubeconfig"),
        f"--root-ca-file={ca}/ca.crt",
        f"--cluster-signing-cert-file={ca}/tls.crt",
        f"--cluster-signing-key-file={ca}/tls.key",
        f"--service-account-private-key-file={sa}/sa.key",
        "--use-service-account-credentials=true",
        f"--cluster-cidr={cp.pods_cidr}",
        f"--service-cluster-ip-range={cp.services_cidr}",
        "--allocate-node-cidrs=false",
        "--controllers=*,bootstrapsigner,tokencleaner",
        "--profiling=false",
    ]
    return _component(
        cp,
        "kube-controller-manager",
        command,
        secrets=(
            ("kubeconfig", "kube-controller-manager-kubeconfig", kc),
            ("ca", "ca", ca),
            ("sa", "service-account-key", sa),
        ),
        liveness={"path": "/healthz", "port": 10257, "scheme": "HTTPS"},
        requests={"cpu": "50m", "memory": "64Mi"},
    )


def scheduler(cp: ControlPlane) -> Manifest:
    kc = "/etc/kubernetes/kubeconfig"
    return _component(
        cp,
        "kube-scheduler",
        ["kube-scheduler", *_kubeconfig_flags(f"{kc}/kubeconfig"), "--profiling=false"],
        secrets=(("kubeconfig", "kube-scheduler-kubeconfig", kc),),
        liveness={"path": "/healthz", "port": 10259, "scheme": "HTTPS"},
        requests={"cpu": "20m", "memory": "32Mi"},
    )


def backup_volume(cp: ControlPlane, size: int) -> Manifest:
    """The local store's claim of ``size`` bytes (``Backup.store.volume_bytes``)."""
    spec: Manifest = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": format_size(size)}},
    }
    if cp.storage_class:
        spec["storageClassName"] = cp.storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta(cp, BACKUP_VOLUME_CLAIM),
        "spec": spec,
    }


def secret(
    cp: ControlPlane, name: str, data: dict[str, str], namespace: str | None = None
) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": name, "namespace": namespace or cp.namespace, "labels": cp.labels},
        "data": data,
    }


# --- shared shapes ------------------------------------------------------------
def _meta(cp: ControlPlane, name: str) -> Manifest:
    return {"name": name, "namespace": cp.namespace, "labels": {**cp.labels, "app": name}}


def _service(
    cp: ControlPlane, name: str, *, port: int, target: int, type_: str = "ClusterIP"
) -> Manifest:
    app = name.removesuffix("-peer")
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(cp, name),
        "spec": {
            "type": type_,
            "selector": {"app": app},
            "ports": [{"name": "main", "port": port, "targetPort": target, "protocol": "TCP"}],
        },
    }


def _component(
    cp: ControlPlane,
    name: str,
    command: list[str],
    *,
    secrets: Sequence[tuple[str, str, str]],
    liveness: Manifest,
    requests: dict[str, str],
    extra: Manifest | None = None,
) -> Manifest:
    """The Deployment of a Kubernetes control-plane component, from its release image.

    ``secrets`` are mounted read-only, each (volume name, Secret name, mount path);
    ``extra`` adds fields to the container (ports, a readiness probe).
    """
    container = {
        "name": name,
        "image": cp.image(name),
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        **(extra or {}),
        "livenessProbe": _liveness(liveness),
        "volumeMounts": [
            {"name": volume, "mountPath": path, "readOnly": True} for volume, _, path in secrets
        ],
        "resources": {"requests": requests},
    }
    volumes = [_secret_volume(volume, secret) for volume, secret, _ in secrets]
    return _deployment(cp, name, container, volumes)


def _liveness(http_get: Manifest) -> Manifest:
    return {
        "httpGet": http_get,
        "initialDelaySeconds": 15,
        "periodSeconds": 10,
        "failureThreshold": 6,
    }


def _kubeconfig_flags(path: str) -> list[str]:
    """One kubeconfig for a component's API calls and for checking who calls it."""
    return [
        f"--kubeconfig={path}",
        f"--authentication-kubeconfig={path}",
        f"--authorization-kubeconfig={path}",
    ]


def _secret_volume(name: str, secret: str) -> Manifest:
    return {"name": name, "secret": {"secretName": secret, "defaultMode": 0o400}}


def _deployment(
    cp: ControlPlane, name: str, container: Manifest, volumes: list[Manifest]
) -> Manifest:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(cp, name),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {**cp.labels, "app": name}},
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }
