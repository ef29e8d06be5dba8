"""Other Kubernetes installations on this host (k3s, rke2, kubeadm, a kubelet of any kind).

While one is present, ``down`` leaves alone what all Kubernetes nodes on a host
share (the generic KUBE-* chains, forwarding sysctls, the kubelet's fixed host
paths). Found by processes, sockets and directories; the seed's own daemons and
everything running in its containers do not count.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from airflow_provider_garden.localseed.processes import executable_of

# Daemons of a Kubernetes node, by executable name.
KUBERNETES_DAEMONS = ("kubelet", "kube-proxy", "kube-apiserver", "k3s", "rke2")
# Container engines whose containers need packet forwarding while they run.
FORWARDING_ENGINES = ("dockerd", "conmon")
# Sockets and directories that k3s, rke2 and kubeadm leave while installed.
KUBERNETES_PATHS = (
    Path("/run/k3s/containerd/containerd.sock"),
    Path("/var/lib/rancher/k3s/server"),
    Path("/var/lib/rancher/k3s/agent"),
    Path("/var/lib/rancher/rke2/server"),
    Path("/var/lib/rancher/rke2/agent"),
    Path("/etc/rancher/k3s"),
    Path("/etc/rancher/rke2"),
    Path("/etc/kubernetes/manifests"),
    Path("/etc/kubernetes/kubelet.conf"),
)


def kubernetes_signs(
    *, processes: Iterable[tuple[int, str]], ours: Iterable[int], existing: Iterable[Path]
) -> list[str]:
    """Pure: what shows another Kubernetes, from (pid, executable) pairs and present paths."""
    mine = set(ours)
    signs = []
    for pid, exe in processes:
        name = exe.rsplit("/", 1)[-1]
        daemon = name.startswith(("k3s", "rke2")) or name in KUBERNETES_DAEMONS
        if daemon and pid not in mine:
            signs.append(f"process {name} (PID {pid}, {exe})")
    signs += [f"{path} exists" for path in existing if path in KUBERNETES_PATHS]
    return signs


def forwarding_signs(*, processes: Iterable[tuple[int, str]], ours: Iterable[int]) -> list[str]:
    """Pure: container engines that rely on ip_forward (Docker, podman's conmon)."""
    mine = set(ours)
    return [
        f"process {exe.rsplit('/', 1)[-1]} (PID {pid})"
        for pid, exe in processes
        if exe.rsplit("/", 1)[-1] in FORWARDING_ENGINES and pid not in mine
    ]


def _processes() -> list[tuple[int, str]]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            exe = executable_of(int(proc.name))
            if exe:
                found.append((int(proc.name), exe))
    return found


def other_kubernetes(ours: Iterable[int]) -> list[str]:
    """Signs of another Kubernetes on this host; ``ours``: PIDs of the seed and its pods."""
    existing = [p for p in KUBERNETES_PATHS if p.exists()]
    return kubernetes_signs(processes=_processes(), ours=ours, existing=existing)


def other_forwarding(ours: Iterable[int]) -> list[str]:
    """Another Kubernetes or a container engine that needs forwarding left on."""
    ours = list(ours)
    return other_kubernetes(ours) + forwarding_signs(processes=_processes(), ours=ours)
