"""The seed's configuration files and command lines, rendered without running anything."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from airflow_provider_garden.localseed import config
from airflow_provider_garden.localseed.build import Binaries
from airflow_provider_garden.localseed.components import Component, components
from airflow_provider_garden.localseed.config import Layout
from airflow_provider_garden.localseed.paths import SeedPaths

STATE = Path("/srv/seed-state")


@pytest.fixture
def layout() -> Layout:
    return Layout(paths=SeedPaths(cache=Path("/srv/seed-cache"), state=STATE))


def _under_state(value: str) -> bool:
    return value.removeprefix("unix://").startswith(f"{STATE}/")


def test_containerd_config_is_private_and_runs_without_cap_sys_resource(layout: Layout) -> None:
    conf = tomllib.loads(
        config.containerd_config(layout, sandbox_image="registry.k8s.io/pause:3.10")
    )
    cri = conf["plugins"]["io.containerd.grpc.v1.cri"]
    runc = cri["containerd"]["runtimes"]["runc"]
    assert conf["version"] == 2
    for value in (conf["root"], conf["state"], conf["grpc"]["address"], runc["options"]["Root"]):
        assert _under_state(value), value
    assert conf["grpc"]["address"] != "/run/containerd/containerd.sock"
    assert cri["restrict_oom_score_adj"] is True
    assert cri["netns_mounts_under_state_dir"] is True
    assert cri["sandbox_image"] == "registry.k8s.io/pause:3.10"
    assert runc["runtime_type"] == "io.containerd.runc.v2"
    assert runc["options"]["SystemdCgroup"] is False
    assert cri["cni"]["bin_dir"] == "/usr/lib/cni"
    assert _under_state(cri["cni"]["conf_dir"])


def test_cni_uses_the_seed_bridge_with_hairpin_and_state_ipam(layout: Layout) -> None:
    conf = json.loads(config.cni_conflist(layout))
    bridge, portmap = conf["plugins"]
    assert bridge["type"] == "bridge"
    assert bridge["bridge"] == "garden0"
    assert (bridge["isGateway"], bridge["ipMasq"], bridge["hairpinMode"]) == (True, True, True)
    assert bridge["ipam"]["ranges"] == [[{"subnet": "10.200.0.0/16", "gateway": "10.200.0.1"}]]
    assert _under_state(bridge["ipam"]["dataDir"])
    assert portmap == {"type": "portmap", "capabilities": {"portMappings": True}}


def test_kubelet_config_fits_cgroup_v1_without_cap_sys_resource(layout: Layout) -> None:
    conf = json.loads(config.kubelet_config(layout))
    assert conf["kind"] == "KubeletConfiguration"
    assert conf["cgroupDriver"] == "cgroupfs"
    assert conf["failCgroupV1"] is False
    assert conf["oomScoreAdj"] == 0
    assert conf["imageGCHighThresholdPercent"] == 100
    assert conf["imageGCLowThresholdPercent"] < 100
    # Disk pressure only near a really full disk, whatever size the filesystem reports.
    assert conf["evictionHard"]["nodefs.available"] == "2Gi"
    assert conf["evictionHard"]["imagefs.available"] == "2Gi"
    assert conf["evictionHard"]["memory.available"] == "100Mi"
    assert conf["containerRuntimeEndpoint"] == f"unix://{STATE}/containerd/containerd.sock"
    assert conf["clusterDNS"] == ["10.96.0.10"]
    assert conf["clusterDomain"] == "cluster.local"
    assert conf["address"] == "10.200.0.1"
    assert conf["readOnlyPort"] == 0
    assert conf["authentication"]["anonymous"]["enabled"] is False
    for key in ("podLogsDir", "volumePluginDir", "tlsCertFile", "tlsPrivateKeyFile"):
        assert _under_state(conf[key]), key


def test_kube_proxy_config_uses_iptables_and_leaves_conntrack_sysctls(layout: Layout) -> None:
    conf = json.loads(config.kube_proxy_config(layout))
    assert conf["mode"] == "iptables"
    assert conf["clusterCIDR"] == "10.200.0.0/16"
    assert conf["conntrack"]["maxPerCore"] == 0
    assert conf["conntrack"]["min"] == 0
    assert conf["nodePortAddresses"] == ["10.200.0.1/32"]
    assert conf["healthzBindAddress"].startswith("127.0.0.1:")
    assert _under_state(conf["clientConnection"]["kubeconfig"])


def test_layout_keeps_every_path_under_the_state_prefix(layout: Layout) -> None:
    paths = [
        getattr(layout, name)
        for name in dir(Layout)
        if isinstance(getattr(Layout, name), property) and name != "runtime_endpoint"
    ]
    assert paths
    for path in paths:
        assert path == STATE or str(path).startswith(f"{STATE}/"), path
    assert len(str(layout.containerd_socket)) < 108  # sun_path limit of a unix socket


def _components(layout: Layout) -> list[Component]:
    b = Path("/srv/seed-cache/bin")
    bins = Binaries(
        kube_apiserver=b / "kube-apiserver",
        kube_controller_manager=b / "kube-controller-manager",
        kube_scheduler=b / "kube-scheduler",
        kubelet=b / "kubelet",
        kube_proxy=b / "kube-proxy",
        kubectl=b / "kubectl",
        etcd=b / "etcd",
        etcdctl=b / "etcdctl",
        etcdutl=b / "etcdutl",
        crictl=b / "crictl",
    )
    return components(layout, bins, containerd=Path("/usr/bin/containerd"))


def test_components_start_in_dependency_order_with_distinct_ports(layout: Layout) -> None:
    comps = _components(layout)
    assert [c.name for c in comps] == [
        "containerd",
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubelet",
        "kube-proxy",
    ]
    ports = [p for c in comps for p in c.ports]
    assert len(ports) == len(set(ports))


def test_component_flags_point_into_the_state_and_bind_locally(layout: Layout) -> None:
    argv = {c.name: c.argv for c in _components(layout)}
    apiserver = argv["kube-apiserver"]
    assert "--bind-address=10.200.0.1" in apiserver
    assert "--advertise-address=10.200.0.1" in apiserver
    assert "--authorization-mode=Node,RBAC" in apiserver
    assert "--service-cluster-ip-range=10.96.0.0/16" in apiserver
    assert "--etcd-servers=https://127.0.0.1:2379" in apiserver
    for name in ("kube-controller-manager", "kube-scheduler"):
        assert "--bind-address=127.0.0.1" in argv[name]
    assert f"--root-dir={STATE}/kubelet" in argv["kubelet"]
    assert "--node-ip=10.200.0.1" in argv["kubelet"]
    # Flags naming a file or directory must name one inside the state prefix.
    for name, args in argv.items():
        for arg in args[1:]:
            value = arg.partition("=")[2]
            if value.startswith("/"):
                assert _under_state(value), (name, arg)
