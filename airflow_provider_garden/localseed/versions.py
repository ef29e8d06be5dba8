"""Pinned versions of every component of the local seed.

One place, so a bump is one reviewed line. Kubernetes stays on 1.32: it is the
last minor release that accepts cgroup v1 by default, which these machines use.
"""

from __future__ import annotations

# The oldest Go toolchain that builds every module below and helm (helm v3.22.0
# declares `go 1.26.0`; Kubernetes 1.32 alone needs 1.23). hack/prereqs.sh reads
# this line: where the machine's Go is older it fetches this release through
# the Go module proxy (Go's toolchain mechanism).
GO = "1.26.0"
# k8s.io/kubernetes release built for the seed's own control plane and node.
KUBERNETES = "v1.32.13"
# Its staging modules (k8s.io/api, ...) are built at the matching v0.32.x; the
# module proxy does not serve every module at every patch, so the build falls
# back per module to the nearest older patch it does serve.

# Control-plane versions offered to shoots: at least two patches so that
# maintenance can exercise a patch update. The newest is the default. (The
# module proxy here answers 403 for k8s.io/kubernetes v1.32.12, hence v1.32.11.)
SHOOT_KUBERNETES_VERSIONS = ("v1.32.13", "v1.32.11")
ETCD = "3.5.16"  # from Debian trixie's etcd-server/etcd-client packages
PAUSE = "3.10"  # sandbox image tag kubelet 1.32 expects
# crictl only debugs the seed and speaks CRI v1 to any containerd; the module
# proxy here serves cri-tools v1.34.0 but no v1.31.x-v1.33.x.
CRICTL = "v1.34.0"
COREDNS = "v1.11.3"  # the CoreDNS release Kubernetes 1.32 ships with
# The dynamic provisioner behind the default StorageClass (hostPath volumes
# under the seed's state directory).
LOCAL_PATH_PROVISIONER = "v0.0.30"
# Simulated machines of shoot worker pools (the local machine driver).
KWOK = "v0.7.0"
