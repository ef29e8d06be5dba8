"""Layout, addresses and configuration files of the local seed, as pure rendering.

Everything the seed writes or mounts lives under one state prefix, so ``down`` can
find and remove it; nothing goes to /var/lib/kubelet, /etc/cni or /var/lib/cni, and
the machine's own containerd (/run/containerd/containerd.sock) is never touched.
The node talks on its own bridge (``garden0``, 10.200.0.1) instead of eth0, so its
address is the same on every machine and its traffic never leaves the host.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from airflow_provider_garden.localseed.paths import SeedPaths

NODE_NAME = "garden-seed"
CLUSTER_NAME = "garden-seed"
BRIDGE = "garden0"
NODE_IP = "10.200.0.1"
POD_CIDR = "10.200.0.0/16"
BRIDGE_ADDRESS = f"{NODE_IP}/16"
SERVICE_CIDR = "10.96.0.0/16"
KUBERNETES_SERVICE_IP = "10.96.0.1"
CLUSTER_DNS_IP = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"
APISERVER_PORT = 6443
APISERVER_URL = f"https://{NODE_IP}:{APISERVER_PORT}"
ETCD_CLIENT_PORT = 2379
ETCD_PEER_PORT = 2380
KUBELET_PORT = 10250
KUBELET_HEALTHZ_PORT = 10248
KUBE_PROXY_HEALTHZ_PORT = 10256
KUBE_PROXY_METRICS_PORT = 10249
CONTROLLER_MANAGER_PORT = 10257
SCHEDULER_PORT = 10259
CNI_BIN_DIR = Path("/usr/lib/cni")  # Debian's containernetworking-plugins


@dataclass(frozen=True, kw_only=True)
class Layout:
    """Every path of the running seed, derived from the state prefix."""

    paths: SeedPaths

    @property
    def state(self) -> Path:
        return self.paths.state

    @property
    def containerd_dir(self) -> Path:
        return self.state / "containerd"

    @property
    def containerd_root(self) -> Path:
        return self.containerd_dir / "root"

    @property
    def containerd_state(self) -> Path:
        return self.containerd_dir / "state"

    @property
    def containerd_socket(self) -> Path:
        return self.containerd_dir / "containerd.sock"

    @property
    def containerd_config(self) -> Path:
        return self.containerd_dir / "config.toml"

    @property
    def runc_root(self) -> Path:
        return self.state / "runc"

    @property
    def cni_conf_dir(self) -> Path:
        return self.state / "cni" / "net.d"

    @property
    def cni_ipam_dir(self) -> Path:
        return self.state / "cni" / "ipam"

    @property
    def kubelet_dir(self) -> Path:
        return self.state / "kubelet"

    @property
    def volume_plugin_dir(self) -> Path:
        return self.state / "volume-plugins"

    @property
    def pod_logs_dir(self) -> Path:
        return self.state / "pod-logs"

    @property
    def local_volumes_dir(self) -> Path:
        return self.state / "local-volumes"

    @property
    def etcd_data(self) -> Path:
        return self.state / "etcd"

    @property
    def config_dir(self) -> Path:
        return self.state / "config"

    @property
    def kubeconfigs(self) -> Path:
        return self.state / "kubeconfigs"

    def kubeconfig(self, component: str) -> Path:
        return self.kubeconfigs / f"{component}.kubeconfig"

    def pki(self, name: str) -> Path:
        return self.paths.pki / name

    @property
    def runtime_endpoint(self) -> str:
        return f"unix://{self.containerd_socket}"


def containerd_config(layout: Layout, *, sandbox_image: str) -> str:
    """The private containerd's config.toml: only what differs from ``containerd config default``.

    containerd decodes each plugin section over its built-in defaults, so the
    effective configuration is the default one with these values set.
    ``restrict_oom_score_adj`` is required here: without CAP_SYS_RESOURCE runc
    cannot lower a sandbox's oom_score_adj and every pod would fail to start.
    """
    cri = '[plugins."io.containerd.grpc.v1.cri"'
    q = json.dumps
    return "\n".join(
        [
            "version = 2",
            f"root = {q(str(layout.containerd_root))}",
            f"state = {q(str(layout.containerd_state))}",
            "",
            "[grpc]",
            f"  address = {q(str(layout.containerd_socket))}",
            "",
            '[plugins."io.containerd.internal.v1.opt"]',
            f"  path = {q(str(layout.containerd_dir / 'opt'))}",
            "",
            f"{cri}]",
            f"  sandbox_image = {q(sandbox_image)}",
            "  restrict_oom_score_adj = true",
            "  netns_mounts_under_state_dir = true",
            "",
            f"{cri}.containerd]",
            '  snapshotter = "overlayfs"',
            '  default_runtime_name = "runc"',
            "",
            f"{cri}.containerd.runtimes.runc]",
            '  runtime_type = "io.containerd.runc.v2"',
            "",
            f"{cri}.containerd.runtimes.runc.options]",
            "  SystemdCgroup = false",
            f"  Root = {q(str(layout.runc_root))}",
            "",
            f"{cri}.cni]",
            f"  bin_dir = {q(str(CNI_BIN_DIR))}",
            f"  conf_dir = {q(str(layout.cni_conf_dir))}",
            "  max_conf_num = 1",
            "",
        ]
    )


def cni_conflist(layout: Layout) -> str:
    """Bridge + host-local + portmap on the seed's own bridge.

    ``hairpinMode`` lets a pod reach itself through its Service IP.
    """
    conf = {
        "cniVersion": "1.0.0",
        "name": "garden",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": True,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_CIDR, "gateway": NODE_IP}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(layout.cni_ipam_dir),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    return json.dumps(conf, indent=2) + "\n"


def kubelet_config(layout: Layout) -> str:
    """KubeletConfiguration for a cgroup-v1 machine without CAP_SYS_RESOURCE."""
    conf = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": NODE_IP,
        "port": KUBELET_PORT,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": KUBELET_HEALTHZ_PORT,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(layout.pki("ca.crt"))},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(layout.pki("kubelet.crt")),
        "tlsPrivateKeyFile": str(layout.pki("kubelet.key")),
        "containerRuntimeEndpoint": layout.runtime_endpoint,
        "imageServiceEndpoint": layout.runtime_endpoint,
        "cgroupDriver": "cgroupfs",
        # cgroup v1 is what these machines have; 1.32 still accepts it when asked.
        "failCgroupV1": False,
        # The kubelet cannot lower its own oom_score_adj without CAP_SYS_RESOURCE.
        "oomScoreAdj": 0,
        # containerd 1.6 does not pin the sandbox image and nothing can be pulled back.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        # Absolute floors, not the default percentages: these machines' filesystems report
        # a size far above used + available, so "15% available" tainted the node with
        # disk-pressure while tens of GiB were free. A partial evictionHard drops the
        # other defaults, so every signal is named.
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "2Gi",
            "nodefs.inodesFree": "5%",
            "imagefs.available": "2Gi",
            "imagefs.inodesFree": "5%",
        },
        "failSwapOn": False,
        "clusterDNS": [CLUSTER_DNS_IP],
        "clusterDomain": CLUSTER_DOMAIN,
        "resolvConf": "/etc/resolv.conf",
        "podLogsDir": str(layout.pod_logs_dir),
        "volumePluginDir": str(layout.volume_plugin_dir),
        "rotateCertificates": False,
        "serializeImagePulls": False,
    }
    return json.dumps(conf, indent=2) + "\n"


def kube_proxy_config(layout: Layout) -> str:
    """KubeProxyConfiguration in iptables mode that leaves conntrack sysctls alone."""
    conf = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(layout.kubeconfig("kube-proxy"))},
        "mode": "iptables",
        "clusterCIDR": POD_CIDR,
        "hostnameOverride": NODE_NAME,
        "bindAddress": NODE_IP,
        "healthzBindAddress": f"127.0.0.1:{KUBE_PROXY_HEALTHZ_PORT}",
        "metricsBindAddress": f"127.0.0.1:{KUBE_PROXY_METRICS_PORT}",
        # NodePorts only on the node's bridge address: not on eth0, and not on
        # loopback (which would need the route_localnet sysctl).
        "nodePortAddresses": [f"{NODE_IP}/32"],
        # 0 = do not write nf_conntrack sysctls; the VM may refuse them.
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
        },
    }
    return json.dumps(conf, indent=2) + "\n"
