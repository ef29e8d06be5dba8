"""Identity and order of rendered objects.

An object is identified by group, kind, namespace and name (the version is how
we talk to the API, not who the object is). Applying goes in two phases:
CustomResourceDefinitions and Namespaces first (everything else may live in
them or be one of their kinds), then the rest in kustomize's legacy kind order,
so Services exist before the workloads that use them and webhooks come last.
Pruning runs the same order backwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_garden.core.manifest import Manifest

CRD_KIND = "CustomResourceDefinition"
CRD_GROUP = "apiextensions.k8s.io"
NAMESPACE_KIND = "Namespace"
# kustomize's legacy order (api/resid/gvk.go), which kubectl apply -k also uses.
_FIRST = (
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
)
_LAST = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
_RANK = {kind: i for i, kind in enumerate(_FIRST)} | {
    kind: len(_FIRST) + 1 + i for i, kind in enumerate(_LAST)
}
_OTHER = len(_FIRST)

# (group, kind) -> whether objects of that kind live in a namespace
IsNamespaced = Callable[[str, str], bool]


@dataclass(frozen=True, order=True)
class ObjectRef:
    group: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{where}{self.name}"


def group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def ref_of(obj: Mapping[str, Any]) -> ObjectRef:
    meta = obj.get("metadata") or {}
    return ObjectRef(
        group=group_of(str(obj.get("apiVersion", ""))),
        kind=str(obj.get("kind", "")),
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name", "")),
    )


def is_first_phase(ref: ObjectRef) -> bool:
    """CRDs and Namespaces: applied (and CRDs established) before anything else."""
    return (ref.group, ref.kind) in {(CRD_GROUP, CRD_KIND), ("", NAMESPACE_KIND)}


def apply_rank(ref: ObjectRef) -> tuple[int, int]:
    return (0 if is_first_phase(ref) else 1, _RANK.get(ref.kind, _OTHER))


def ordered(objs: Iterable[Manifest]) -> list[Manifest]:
    """Stable sort into apply order (kustomize's own order is kept within a rank)."""
    return sorted(objs, key=lambda o: apply_rank(ref_of(o)))


def prune_order(refs: Iterable[ObjectRef]) -> list[ObjectRef]:
    return sorted(refs, key=lambda r: (apply_rank(r), r), reverse=True)


def with_namespaces(
    objs: Sequence[Manifest], namespaced: IsNamespaced, default_namespace: str
) -> list[Manifest]:
    """Give namespaced objects without one the default; drop it from cluster-scoped ones.

    kubectl does the same with its context namespace; here the default is explicit
    so the inventory records where each object really went.
    """
    out: list[Manifest] = []
    for obj in objs:
        ref = ref_of(obj)
        meta = dict(obj.get("metadata") or {})
        if namespaced(ref.group, ref.kind):
            meta.setdefault("namespace", default_namespace)
            if not meta["namespace"]:
                meta["namespace"] = default_namespace
        else:
            meta.pop("namespace", None)
        out.append({**obj, "metadata": meta})
    return out


def duplicates(objs: Iterable[Manifest]) -> list[ObjectRef]:
    seen: set[ObjectRef] = set()
    dup: list[ObjectRef] = []
    for obj in objs:
        ref = ref_of(obj)
        if ref in seen:
            dup.append(ref)
        seen.add(ref)
    return dup
