"""Which pods a node drain evicts, in what order, and which budgets stand in its way.

Pure functions over Pod and PodDisruptionBudget objects as the API returns them
(plain dicts), so the rules are table-tested without a cluster:

* DaemonSet pods are left alone (their controller would recreate them at once,
  and they tolerate the unschedulable taint); mirror pods cannot be evicted.
* Pods with persistent volumes are evicted one at a time: the volume must detach
  from the old machine before the replacement can attach it elsewhere.
* A budget that allows zero disruptions blocks a rollout before it starts; the
  refusal names it, with its healthy and desired counts.
* Bare pods (no controller) and pods with emptyDir data are evicted only when the
  drain is forced; otherwise the refusal names them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Obj = Mapping[str, Any]
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


def pod_key(pod: Obj) -> str:
    meta = pod["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"


def is_daemonset_pod(pod: Obj) -> bool:
    owners = pod["metadata"].get("ownerReferences") or []
    return any(o.get("kind") == "DaemonSet" and o.get("controller") for o in owners)


def is_mirror_pod(pod: Obj) -> bool:
    return MIRROR_ANNOTATION in (pod["metadata"].get("annotations") or {})


def is_terminating(pod: Obj) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def has_volumes(pod: Obj) -> bool:
    """Whether the pod holds a persistent (or generic ephemeral) volume."""
    volumes = (pod.get("spec") or {}).get("volumes") or []
    return any("persistentVolumeClaim" in v or "ephemeral" in v for v in volumes)


def is_bare(pod: Obj) -> bool:
    """No controller owns the pod: evicted, it is gone for good."""
    owners = pod["metadata"].get("ownerReferences") or []
    return not any(o.get("controller") for o in owners)


def has_local_data(pod: Obj) -> bool:
    """The pod keeps data in an emptyDir volume, lost with the machine."""
    volumes = (pod.get("spec") or {}).get("volumes") or []
    return any("emptyDir" in v for v in volumes)


def unsafe_evictions(pods: Iterable[Obj]) -> list[str]:
    """Pods a drain may evict only when forced, each with why, sorted.

    Like ``kubectl drain`` without ``--force``/``--delete-emptydir-data``: a bare
    pod is not recreated elsewhere and an emptyDir's data is lost. Finished or
    terminating pods lose nothing more.
    """
    found = []
    for pod in pods:
        if is_terminating(pod) or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        why = [
            text
            for text, hit in (
                ("no controller", is_bare(pod)),
                ("emptyDir data", has_local_data(pod)),
            )
            if hit
        ]
        if why:
            found.append(f"{pod_key(pod)} ({', '.join(why)})")
    return sorted(found)


def pods_to_drain(pods: Iterable[Obj], nodes: Iterable[str]) -> list[Obj]:
    """The pods on ``nodes`` that a drain must see gone, terminating ones included."""
    wanted = set(nodes)
    return [
        p
        for p in pods
        if (p.get("spec") or {}).get("nodeName") in wanted
        and not is_daemonset_pod(p)
        and not is_mirror_pod(p)
    ]


def next_evictions(pods: Sequence[Obj]) -> list[Obj]:
    """The pods to evict now, from :func:`pods_to_drain`'s answer.

    Every pod without volumes at once; of the pods with volumes only one, and
    only while no other pod with volumes is still terminating.
    """
    pending = [p for p in pods if not is_terminating(p)]
    plain = [p for p in pending if not has_volumes(p)]
    with_volumes = sorted((p for p in pending if has_volumes(p)), key=pod_key)
    in_flight = any(has_volumes(p) and is_terminating(p) for p in pods)
    return plain + ([] if in_flight else with_volumes[:1])


def selector_matches(selector: Obj | None, labels: Mapping[str, str]) -> bool:
    """Label selector semantics: a null selector matches nothing, an empty one everything."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def budgets_of(pod: Obj, pdbs: Iterable[Obj]) -> list[Obj]:
    """The PodDisruptionBudgets that cover ``pod`` (same namespace, selector matches)."""
    meta = pod["metadata"]
    labels = meta.get("labels") or {}
    return [
        b
        for b in pdbs
        if b["metadata"].get("namespace") == meta.get("namespace")
        and selector_matches((b.get("spec") or {}).get("selector"), labels)
    ]


def describe_budget(pdb: Obj) -> str:
    """``ns/name (allows 0 disruptions: 18 of 18 desired pods healthy)``."""
    status = pdb.get("status") or {}
    meta = pdb["metadata"]
    return (
        f"{meta.get('namespace')}/{meta['name']} (allows {status.get('disruptionsAllowed', 0)} "
        f"disruptions: {status.get('currentHealthy', 0)} of {status.get('desiredHealthy', 0)} "
        "desired pods healthy)"
    )


def blocking_budgets(pods: Iterable[Obj], pdbs: Sequence[Obj]) -> list[str]:
    """Budgets covering any of ``pods`` that allow zero disruptions, described, sorted."""
    blocking: dict[str, str] = {}
    for pod in pods:
        if is_terminating(pod) or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue  # evicting a finished or leaving pod costs no budget
        for pdb in budgets_of(pod, pdbs):
            if (pdb.get("status") or {}).get("disruptionsAllowed", 0) <= 0:
                blocking[pod_key(pdb)] = describe_budget(pdb)
    return [blocking[k] for k in sorted(blocking)]
