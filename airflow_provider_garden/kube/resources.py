"""The kinds this provider reads and writes, and where each lives in the API.

A static table instead of API discovery: discovery costs one request per API
group on every new client, and the provider only ever touches these kinds.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_garden.core.crds import API_VERSION, CRDS, GROUP, VERSION

__all__ = ["GROUP", "SHOOT_API_VERSION", "VERSION", "Resource", "resource_for"]

SHOOT_API_VERSION = API_VERSION


@dataclass(frozen=True)
class Resource:
    api_version: str
    kind: str
    plural: str
    namespaced: bool

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        if self.namespaced:
            if namespace is None:
                raise ValueError(f"{self.kind} is namespaced: a namespace is required")
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return f"{base}/{name}" if name else base


_TABLE = [
    Resource("v1", "Namespace", "namespaces", namespaced=False),
    Resource("v1", "Secret", "secrets", namespaced=True),
    Resource("v1", "ConfigMap", "configmaps", namespaced=True),
    Resource("v1", "Service", "services", namespaced=True),
    Resource("v1", "ServiceAccount", "serviceaccounts", namespaced=True),
    Resource("v1", "Pod", "pods", namespaced=True),
    Resource("v1", "Event", "events", namespaced=True),
    Resource("v1", "PersistentVolumeClaim", "persistentvolumeclaims", namespaced=True),
    Resource("v1", "PersistentVolume", "persistentvolumes", namespaced=False),
    Resource("v1", "Node", "nodes", namespaced=False),
    Resource("apps/v1", "Deployment", "deployments", namespaced=True),
    Resource("apps/v1", "StatefulSet", "statefulsets", namespaced=True),
    Resource("apps/v1", "DaemonSet", "daemonsets", namespaced=True),
    Resource("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", namespaced=True),
    Resource("coordination.k8s.io/v1", "Lease", "leases", namespaced=True),
    Resource("rbac.authorization.k8s.io/v1", "Role", "roles", namespaced=True),
    Resource("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", namespaced=True),
    Resource("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", namespaced=False),
    Resource(
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        namespaced=False,
    ),
    Resource(
        "admissionregistration.k8s.io/v1",
        "ValidatingAdmissionPolicy",
        "validatingadmissionpolicies",
        namespaced=False,
    ),
    Resource(
        "admissionregistration.k8s.io/v1",
        "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings",
        namespaced=False,
    ),
    # Asked by the connection test: may this client create pods in the provider's namespace.
    Resource(
        "authorization.k8s.io/v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        namespaced=False,
    ),
    Resource(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        namespaced=False,
    ),
    *(Resource(API_VERSION, crd.kind, crd.plural, crd.namespaced) for crd in CRDS),
    # Read by care in each shoot (HibernationPossible, MaintenancePreconditionsSatisfied).
    Resource(
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        namespaced=False,
    ),
    Resource(
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        namespaced=False,
    ),
]
_BY_KIND = {(r.api_version, r.kind): r for r in _TABLE}


def resource_for(api_version: str, kind: str) -> Resource:
    try:
        return _BY_KIND[(api_version, kind)]
    except KeyError:
        raise KeyError(f"{api_version} {kind} is not a kind this provider manages") from None
