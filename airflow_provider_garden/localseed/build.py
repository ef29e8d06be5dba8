"""Everything the local seed runs, built here and cached: binaries and images.

Two entry points for the runtime side: `ensure_binaries` and `ensure_images`.
Both are idempotent; warm, they only compare stored input keys. Concurrent
callers (two terminals, parallel test sessions) serialise on a lock file.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from airflow_provider_garden import __version__
from airflow_provider_garden.localseed import versions
from airflow_provider_garden.localseed.errors import SeedError
from airflow_provider_garden.localseed.gobuild import (
    GoBuildSpec,
    GoTool,
    binaries_of,
    ensure_go_build,
    is_built,
)
from airflow_provider_garden.localseed.images import (
    DEBIAN_REF,
    IMAGE_BUILD_PACKAGES,
    ImageArchive,
    ImageSpec,
    docker_dir,
    ensure_debian_base,
    ensure_image,
)
from airflow_provider_garden.localseed.packages import (
    ensure_debian_packages,
    ensure_etcd,
    etcd_binaries,
    etcd_is_installed,
    require_root,
)
from airflow_provider_garden.localseed.paths import SeedPaths
from airflow_provider_garden.localseed.progress import step

__all__ = [
    "Binaries",
    "ImageArchive",
    "ensure_binaries",
    "ensure_images",
    "ensure_kubectl",
    "image_refs",
]

KUBE_VERSION_PACKAGES = ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
NODE = ("kubelet", "kube-proxy", "kubectl")

PAUSE_REF = f"registry.k8s.io/pause:{versions.PAUSE}"
ETCD_REF = f"registry.k8s.io/etcd:{versions.ETCD}-0"
COREDNS_REF = f"registry.k8s.io/coredns/coredns:{versions.COREDNS}"
PROVISIONER_REF = f"docker.io/rancher/local-path-provisioner:{versions.LOCAL_PATH_PROVISIONER}"
TOOLBOX_REF = f"localhost/garden/toolbox:{__version__}"
KWOK_REF = f"registry.k8s.io/kwok/kwok:{versions.KWOK}"
# The provisioner's helper pods (mkdir/rm of volume directories) run this image.
PROVISIONER_HELPER_REF = DEBIAN_REF


@dataclass(frozen=True, kw_only=True)
class Binaries:
    """Absolute paths of the executables the seed runs."""

    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    kubelet: Path
    kube_proxy: Path
    kubectl: Path
    etcd: Path
    etcdctl: Path
    etcdutl: Path
    crictl: Path


def kubernetes_spec(version: str, programs: Collection[str]) -> GoBuildSpec:
    major_minor_patch = version.removeprefix("v1.")
    return GoBuildSpec(
        name=f"kubernetes-{version}" + ("" if set(NODE) <= set(programs) else "-control-plane"),
        module="k8s.io/kubernetes",
        version=version,
        packages=tuple(f"k8s.io/kubernetes/cmd/{p}" for p in programs),
        staging_version=f"v0.{major_minor_patch}",
        kube_version_packages=KUBE_VERSION_PACKAGES,
    )


def _go_tool(
    name: str,
    module: str,
    version: str,
    *,
    package: str | None = None,
    version_variable: str | None = None,
) -> GoBuildSpec:
    """One binary built from ``module`` (``package``, default its root), cached as name-version.

    ``version_variable``, when given, is set to ``version`` with -X (what `--version` prints).
    """
    return GoBuildSpec(
        name=f"{name}-{version}",
        module=module,
        version=version,
        packages=(package or module,),
        extra_x=((version_variable, version),) if version_variable else (),
    )


SEED_KUBERNETES = kubernetes_spec(versions.KUBERNETES, CONTROL_PLANE + NODE)
CRICTL = _go_tool(
    "crictl",
    "sigs.k8s.io/cri-tools",
    versions.CRICTL,
    package="sigs.k8s.io/cri-tools/cmd/crictl",
    version_variable="sigs.k8s.io/cri-tools/pkg/version.Version",
)
COREDNS = _go_tool("coredns", "github.com/coredns/coredns", versions.COREDNS)
PROVISIONER = _go_tool(
    "local-path-provisioner",
    "github.com/rancher/local-path-provisioner",
    versions.LOCAL_PATH_PROVISIONER,
    version_variable="main.VERSION",
)
# Its go.mod has no replace directives; the version variable already matches the tag.
KWOK = _go_tool("kwok", "sigs.k8s.io/kwok", versions.KWOK, package="sigs.k8s.io/kwok/cmd/kwok")


def control_plane_spec(version: str) -> GoBuildSpec:
    """The seed's own build already holds its version's control plane."""
    if version == versions.KUBERNETES:
        return SEED_KUBERNETES
    return kubernetes_spec(version, CONTROL_PLANE)


@contextmanager
def _build_lock(paths: SeedPaths) -> Iterator[None]:
    paths.cache.mkdir(parents=True, exist_ok=True)
    with (paths.cache / ".build.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            # Another clone or test session is building: say so rather than sit silent.
            with step(f"wait for another build of the seed (lock {lock.name})"):
                fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _go_binaries(paths: SeedPaths, spec: GoBuildSpec) -> dict[str, Path]:
    if not is_built(spec, paths.bin):
        ensure_go_build(spec, go=GoTool.find(), work_root=paths.gobuild, bin_root=paths.bin)
    return binaries_of(spec, paths.bin)


def ensure_kubectl(paths: SeedPaths) -> Path:
    """kubectl of the seed's own Kubernetes build (built with the seed's other binaries,
    which it shares every compiled package with); a cache that holds it may be read-only."""
    if not is_built(SEED_KUBERNETES, paths.bin):
        with _build_lock(paths):
            _go_binaries(paths, SEED_KUBERNETES)
    return binaries_of(SEED_KUBERNETES, paths.bin)["kubectl"]


def ensure_binaries(paths: SeedPaths) -> Binaries:
    """Build (or find cached) every executable the seed runs on the host."""
    specs = (SEED_KUBERNETES, CRICTL)
    if not (all(is_built(s, paths.bin) for s in specs) and etcd_is_installed(paths)):
        with _build_lock(paths):
            for spec in specs:
                _go_binaries(paths, spec)
            ensure_etcd(paths)
    kube = binaries_of(SEED_KUBERNETES, paths.bin)
    etcd = etcd_binaries(paths)
    return Binaries(
        kube_apiserver=kube["kube-apiserver"],
        kube_controller_manager=kube["kube-controller-manager"],
        kube_scheduler=kube["kube-scheduler"],
        kubelet=kube["kubelet"],
        kube_proxy=kube["kube-proxy"],
        kubectl=kube["kubectl"],
        etcd=etcd.etcd,
        etcdctl=etcd.etcdctl,
        etcdutl=etcd.etcdutl,
        crictl=binaries_of(CRICTL, paths.bin)["crictl"],
    )


def _go_image(paths: SeedPaths, ref: str, program: str, spec: GoBuildSpec) -> ImageSpec:
    """An image of one Go program, from docker/seed/<program>/Dockerfile."""
    return ImageSpec(
        ref=ref,
        dockerfile_dir=docker_dir() / "seed" / program,
        context=((program, _go_binaries(paths, spec)[program]),),
    )


def _control_plane_image(paths: SeedPaths, program: str, version: str) -> ImageSpec:
    ref = f"registry.k8s.io/{program}:{version}"
    return _go_image(paths, ref, program, control_plane_spec(version))


def _etcd_image(paths: SeedPaths) -> ImageSpec:
    etcd = ensure_etcd(paths)
    return ImageSpec(
        ref=ETCD_REF,
        dockerfile_dir=docker_dir() / "seed" / "etcd",
        context=tuple((f.name, f) for f in (etcd.etcd, etcd.etcdctl, etcd.etcdutl)),
    )


def _toolbox_image(paths: SeedPaths) -> ImageSpec:
    """The context is the repository's layout, as docker/toolbox/Dockerfile expects."""
    etcd = ensure_etcd(paths)
    repo = docker_dir().parent
    return ImageSpec(
        ref=TOOLBOX_REF,
        dockerfile_dir=docker_dir() / "toolbox",
        dockerfile_at="docker/toolbox",
        context=(
            ("bin/kubectl", _go_binaries(paths, SEED_KUBERNETES)["kubectl"]),
            ("bin/etcd", etcd.etcd),  # restore drills serve a restored snapshot with it
            ("bin/etcdctl", etcd.etcdctl),
            ("bin/etcdutl", etcd.etcdutl),
            ("pyproject.toml", repo / "pyproject.toml"),
            ("README.md", repo / "README.md"),
            ("airflow_provider_garden", repo / "airflow_provider_garden"),
        ),
        needs_pypi=True,
    )


def _image_plans() -> dict[str, Callable[[SeedPaths], ImageSpec]]:
    """How to make each image's spec; making one builds the binaries it needs."""
    plans: dict[str, Callable[[SeedPaths], ImageSpec]] = {
        PAUSE_REF: lambda _: ImageSpec(ref=PAUSE_REF, dockerfile_dir=docker_dir() / "seed/pause"),
        ETCD_REF: _etcd_image,
        COREDNS_REF: partial(_go_image, ref=COREDNS_REF, program="coredns", spec=COREDNS),
        PROVISIONER_REF: partial(
            _go_image, ref=PROVISIONER_REF, program="local-path-provisioner", spec=PROVISIONER
        ),
        KWOK_REF: partial(_go_image, ref=KWOK_REF, program="kwok", spec=KWOK),
    }
    for version in versions.SHOOT_KUBERNETES_VERSIONS:
        for program in CONTROL_PLANE:
            plans[f"registry.k8s.io/{program}:{version}"] = partial(
                _control_plane_image, program=program, version=version
            )
    plans[TOOLBOX_REF] = _toolbox_image
    return plans


def image_refs() -> list[str]:
    """Every image the seed provides, the Debian base first (the others build on it)."""
    return [DEBIAN_REF, *_image_plans()]


def ensure_images(paths: SeedPaths, *, only: Collection[str] | None = None) -> list[ImageArchive]:
    """Build (or find cached) the seed's images as OCI archives, in `image_refs` order.

    :param only: image references to return; all when None. The Debian base is
        always built because every other image starts from it.
    """
    plans = _image_plans()
    wanted = [DEBIAN_REF, *plans] if only is None else list(only)
    unknown = [ref for ref in wanted if ref != DEBIAN_REF and ref not in plans]
    if unknown:
        raise SeedError(f"unknown image(s) {', '.join(unknown)}; known: {', '.join(plans)}")
    require_root("building images with podman")
    with _build_lock(paths):
        ensure_debian_packages(IMAGE_BUILD_PACKAGES)
        base = ensure_debian_base(paths)
        archives = [base] if DEBIAN_REF in wanted else []
        for ref, plan in plans.items():
            if ref in wanted:
                archives.append(ensure_image(plan(paths), base=base, paths=paths))
    return archives
