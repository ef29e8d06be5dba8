"""Another Kubernetes on the host is told by processes and paths; the seed's own do not count."""

from __future__ import annotations

from pathlib import Path

from airflow_provider_garden.localseed.neighbours import forwarding_signs, kubernetes_signs


def test_foreign_kube_daemons_and_paths_are_signs_our_pids_are_not() -> None:
    processes = [
        (10, "/root/.cache/airflow-provider-garden/bin/kubelet"),  # the seed's
        (11, "/usr/local/bin/k3s-server"),
        (12, "/usr/bin/kubelet"),
        (13, "/usr/bin/containerd"),
        (14, "/usr/local/bin/kube-apiserver"),  # a shoot's control plane in a seed pod
    ]
    signs = kubernetes_signs(
        processes=processes,
        ours=[10, 14],
        existing=[Path("/etc/kubernetes/manifests"), Path("/etc/hostname")],
    )
    assert signs == [
        "process k3s-server (PID 11, /usr/local/bin/k3s-server)",
        "process kubelet (PID 12, /usr/bin/kubelet)",
        "/etc/kubernetes/manifests exists",
    ]


def test_no_signs_on_a_host_with_only_the_seed() -> None:
    assert kubernetes_signs(processes=[(10, "/x/kubelet")], ours=[10], existing=[]) == []


def test_container_engines_that_need_forwarding_are_signs() -> None:
    processes = [(20, "/usr/bin/dockerd"), (21, "/usr/bin/conmon"), (22, "/usr/bin/containerd")]
    assert forwarding_signs(processes=processes, ours=[21]) == ["process dockerd (PID 20)"]
