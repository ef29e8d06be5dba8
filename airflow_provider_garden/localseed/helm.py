"""helm, built from its Go module into the shared build cache.

The chart under helm/ is linted, rendered and installed with this binary in the
tests and by `garden package`; people with their own helm use that instead.
helm's go.mod has no replace directives, so the build module only requires it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from airflow_provider_garden.localseed.gobuild import (
    GoBuildSpec,
    GoTool,
    binaries_of,
    ensure_go_build,
    is_built,
)
from airflow_provider_garden.localseed.paths import SeedPaths

VERSION = "v3.22.0"
# helm's Makefile derives the newest Kubernetes it knows from its k8s.io/client-go
# (v0.37.x for helm 3.22): `helm template` and `helm lint` assume that version.
_K8S_MAJOR, _K8S_MINOR = "1", "37"

HELM = GoBuildSpec(
    name=f"helm-{VERSION}",
    module="helm.sh/helm/v3",
    version=VERSION,
    packages=("helm.sh/helm/v3/cmd/helm",),
    extra_x=(
        ("helm.sh/helm/v3/internal/version.version", VERSION),
        ("helm.sh/helm/v3/internal/version.gitTreeState", "clean"),
        ("helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor", _K8S_MAJOR),
        ("helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor", _K8S_MINOR),
        ("helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor", _K8S_MAJOR),
        ("helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor", _K8S_MINOR),
    ),
)


def ensure_helm(paths: SeedPaths | None = None) -> Path:
    """Path of the helm binary: $GARDEN_HELM when set, else built (once) into the cache."""
    configured = os.environ.get("GARDEN_HELM")
    if configured:
        return Path(configured)
    paths = paths or SeedPaths.default()
    binary = binaries_of(HELM, paths.bin)["helm"]
    if is_built(HELM, paths.bin):
        return binary
    paths.cache.mkdir(parents=True, exist_ok=True)
    # Two sessions building at once would share the build module's directory.
    with (paths.cache / f".{HELM.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ensure_go_build(HELM, go=GoTool.find(), work_root=paths.gobuild, bin_root=paths.bin)
    return binary
