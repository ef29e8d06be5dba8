"""Pinned versions of every component of the local seed.

One place, so a bump is one reviewed line. Kubernetes stays on 1.32: it is the
last minor release that accepts cgroup v1 by default, which these machines use.
"""

from __future__ import annotations

# k8s.io/kubernetes release built for the seed's own control plane and node.
KUBERNETES = "v1.32.13"
# Staging modules (k8s.io/api, ...) released with KUBERNETES. The module proxy
# does not serve every module at every patch; the build falls back per module
# to the nearest older v0.32.x patch it does serve.
KUBERNETES_STAGING = "v0.32.13"
# Control-plane versions offered to shoots: at least two patches so that
# maintenance can exercise a patch update. The newest is the default.
SHOOT_KUBERNETES_VERSIONS = ("v1.32.13", "v1.32.12")
ETCD = "3.5.16"  # from Debian trixie's etcd-server/etcd-client packages
PAUSE = "3.10"  # sandbox image tag kubelet 1.32 expects
