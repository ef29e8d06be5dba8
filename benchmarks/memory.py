"""Memory of the local seed, read from outside it: /proc for its daemons, cgroups for pods.

Nothing in the product measures itself: the daemons are found by the PIDs the seed
recorded for them, the pods through the memory cgroups the kubelet made for them.
"""

from __future__ import annotations

from pathlib import Path

from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.localseed.seed import LocalSeed

CGROUP = Path("/sys/fs/cgroup")
# The kubelet's pod cgroups: cgroup v1 (memory controller) first, then v2 (unified).
_ROOTS = (CGROUP / "memory" / "kubepods", CGROUP / "kubepods", CGROUP / "kubepods.slice")


def process_rss(pid: int) -> int:
    """Resident bytes of one process (VmRSS), 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _usage(cgroup: Path) -> int | None:
    for name in ("memory.usage_in_bytes", "memory.current"):
        if (cgroup / name).exists():
            return int((cgroup / name).read_text())
    return None


def all_pods_bytes() -> int:
    """Memory charged to every pod on the node (the kubelet's root pod cgroup)."""
    for root in _ROOTS:
        usage = _usage(root)
        if usage is not None:
            return usage
    raise FileNotFoundError(
        f"no kubelet pod cgroup under {CGROUP} (tried {', '.join(map(str, _ROOTS))})"
    )


def _pod_cgroup(uid: str, qos: str) -> Path | None:
    # cgroupfs driver: pod<uid> (Guaranteed at the root, others under their QoS class);
    # systemd driver: kubepods-<qos>-pod<uid with underscores>.slice.
    unit = f"kubepods-{qos}-pod{uid.replace('-', '_')}.slice"
    for root in _ROOTS:
        for cgroup in (
            root / f"pod{uid}",
            root / qos / f"pod{uid}",
            root / unit,
            root / f"kubepods-{qos}.slice" / unit,
        ):
            if _usage(cgroup) is not None:
                return cgroup
    return None


def pod_bytes(kube: KubeClient, namespace: str) -> int:
    """Memory charged to the pods of one namespace, from each pod's cgroup."""
    total = 0
    for pod in kube.list("v1", "Pod", namespace):
        qos = (pod.get("status") or {}).get("qosClass", "BestEffort").lower()
        cgroup = _pod_cgroup(pod["metadata"]["uid"], qos)
        total += (_usage(cgroup) or 0) if cgroup else 0
    return total


def seed_memory(seed: LocalSeed) -> dict[str, int]:
    """Bytes per seed daemon (resident) and for all its pods together (cgroup)."""
    usage = {}
    for component in seed.status().components:
        pid = seed.table.pid(component.name)
        usage[component.name] = process_rss(pid) if pid else 0
    usage["pods (cgroup)"] = all_pods_bytes()
    return usage
