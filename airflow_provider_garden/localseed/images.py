"""Container images of the seed: Dockerfiles under docker/, built with podman.

No registry is reachable, so every image starts from a Debian base made here
with mmdebstrap and is saved as an OCI archive for `ctr images import`. Each
image is keyed by a hash of its inputs (Dockerfile directory, staged files,
base image); an archive whose key matches is reused without running podman.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from airflow_provider_garden.localseed.errors import SeedError
from airflow_provider_garden.localseed.packages import DEBIAN_MIRROR, require_free_space
from airflow_provider_garden.localseed.paths import SeedPaths
from airflow_provider_garden.localseed.progress import Step, run_reporting, step

DEBIAN_REF = "localhost/garden/debian:bookworm"
IMAGE_BUILD_PACKAGES = ("podman", "mmdebstrap")
# Dockerfiles start `FROM ${BASE_IMAGE}` (default debian:bookworm-slim for people
# building with Docker); here it is the mmdebstrap base.
BASE_IMAGE_ARG = "BASE_IMAGE"
# Every build gets its image's tag as VERSION: the images of this package label
# themselves with it (org.opencontainers.image.version); others ignore it.
VERSION_ARG = "VERSION"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
# `podman run` (and RUN steps) fail here without these: CAP_SYS_RESOURCE is missing,
# so the default rlimits cannot be raised.
_ULIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096")
# Like debian:bookworm-slim: merged /usr set up by a hook rather than the usrmerge
# package (which would pull in perl), and no docs, man pages or translations
# (the dpkg excludes stay in the image, so later apt installs follow them too).
_BASE_ARGV = (
    "mmdebstrap",
    "--variant=minbase",
    "--format=tar",
    "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/info/*",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
    "--dpkgopt=path-include=/usr/share/locale/locale.alias",
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-include=/usr/share/doc/*/copyright",
    "bookworm",
)
IMAGES_GIB = 6
_SKIP = ("__pycache__", ".pyc", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".egg-info")


@dataclass(frozen=True, kw_only=True)
class ImageArchive:
    """An OCI archive of one image: `ctr -n k8s.io images import <archive>`."""

    ref: str
    archive: Path


@dataclass(frozen=True, kw_only=True)
class ImageSpec:
    ref: str
    dockerfile_dir: Path  # holds the Dockerfile and the files it copies
    context: tuple[tuple[str, Path], ...] = ()  # staged into the context: name -> file or dir
    dockerfile_at: str = ""  # where dockerfile_dir goes in the context ("" = its root)
    needs_pypi: bool = False  # a RUN step installs from PyPI over HTTPS
    build_args: tuple[tuple[str, str], ...] = ()  # --build-arg NAME=value, beyond base/version


def docker_dir() -> Path:
    found = Path(__file__).resolve().parents[2] / "docker"
    if not found.is_dir():
        raise SeedError(f"{found} is missing: build the seed's images from a checkout")
    return found


def _slug(ref: str) -> str:
    return ref.replace("/", "_").replace(":", "_")


def _skipped(path: Path) -> bool:
    return any(path.name.endswith(s) for s in _SKIP)


def _files(root: Path) -> Iterator[tuple[str, Path]]:
    """Files under `root` (or `root` itself) with stable relative names."""
    if root.is_file():
        yield "", root
        return
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not _skipped(Path(d)))
        for name in sorted(files):
            path = Path(current) / name
            if not _skipped(path):
                yield str(path.relative_to(root)), path


def input_key(spec: ImageSpec, base_key: str) -> str:
    digest = hashlib.sha256()
    # build_args only when there are any: the keys of images without them stay as cached.
    extra = [list(spec.build_args)] if spec.build_args else []
    digest.update(
        json.dumps([spec.ref, base_key, spec.needs_pypi, spec.dockerfile_at, *extra]).encode()
    )
    for name, root in (("Dockerfile-dir", spec.dockerfile_dir), *spec.context):
        for rel, path in _files(root):
            digest.update(f"\0{name}/{rel}\0{os.stat(path).st_mode & 0o111}\0".encode())
            with path.open("rb") as f:
                digest.update(hashlib.file_digest(f, "sha256").digest())
    return digest.hexdigest()


class _Store:
    """Archive and stamp of one image in the cache."""

    def __init__(self, paths: SeedPaths, ref: str) -> None:
        self.ref = ref
        self.archive = paths.images / f"{_slug(ref)}.oci.tar"
        self.stamp = paths.images / f"{_slug(ref)}.json"
        self.log = paths.images / "logs" / f"{_slug(ref)}.log"

    def cached_key(self) -> str | None:
        if not (self.stamp.exists() and self.archive.exists()):
            return None
        return str(json.loads(self.stamp.read_text())["key"])

    def previous_image_id(self) -> str | None:
        if not self.stamp.exists():
            return None
        image_id = json.loads(self.stamp.read_text()).get("image_id")
        return str(image_id) if image_id else None

    def save(self, *, key: str, started: float) -> ImageArchive:
        previous = self.previous_image_id()
        partial = self.archive.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        _podman(["save", "--format", "oci-archive", "-o", str(partial), self.ref])
        os.replace(partial, self.archive)
        image_id = _podman(["image", "inspect", "--format", "{{.Id}}", self.ref]).strip()
        record = {
            "key": key,
            "ref": self.ref,
            "image_id": image_id,
            "build_seconds": round(time.monotonic() - started, 1),
            "archive_bytes": self.archive.stat().st_size,
        }
        self.stamp.write_text(json.dumps(record, indent=2) + "\n")
        if previous and previous != image_id:
            # The replaced image is untagged now; drop it so rebuilds do not pile up
            # (podman refuses while other images still build on it, which is fine).
            subprocess.run(["podman", "rmi", previous], capture_output=True, check=False)
        return ImageArchive(ref=self.ref, archive=self.archive)


def mmdebstrap_phase(line: str) -> str | None:
    """mmdebstrap's informational lines ("I: extracting archives...") name its phase."""
    return line.removeprefix("I: ") if line.startswith("I: ") else None


def podman_step(line: str) -> str | None:
    """The build step `podman build` has reached ("STEP 3/7: RUN apt-get ..."), if `line` names one."""
    if not line.startswith("STEP "):
        return None
    return line if len(line) <= 100 else line[:97] + "..."


def _podman(args: list[str], *, log: Path | None = None, current: Step | None = None) -> str:
    argv = ["podman", *args]
    if current is None:
        out = subprocess.run(argv, capture_output=True, text=True, check=False)
    else:
        out = run_reporting(argv, current, describe=podman_step)
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(out.stdout + out.stderr)
    if out.returncode != 0:
        tail = "\n".join((out.stderr or out.stdout).strip().splitlines()[-30:])
        where = f" (full log: {log})" if log else ""
        hint = " (disk full?)" if "no space left" in tail.lower() else ""
        raise SeedError(f"`{' '.join(argv[:3])} ...` failed{hint}{where}:\n{tail}")
    return out.stdout


def ensure_loaded(archive: ImageArchive) -> None:
    """podman's storage may have been reset while the archive survived."""
    exists = subprocess.run(["podman", "image", "exists", archive.ref], check=False)
    if exists.returncode != 0:
        loaded = _podman(["load", "--input", str(archive.archive)]).split()[-1]
        _podman(["tag", loaded, archive.ref])


def base_key() -> str:
    return hashlib.sha256(json.dumps([*_BASE_ARGV, DEBIAN_MIRROR]).encode()).hexdigest()


def ensure_debian_base(paths: SeedPaths) -> ImageArchive:
    """`localhost/garden/debian:bookworm`: Debian minbase, the parent of the other images."""
    store = _Store(paths, DEBIAN_REF)
    key = base_key()
    if store.cached_key() == key:
        archive = ImageArchive(ref=DEBIAN_REF, archive=store.archive)
        ensure_loaded(archive)
        return archive
    require_free_space(paths.images, IMAGES_GIB, "building the seed's images")
    paths.images.mkdir(parents=True, exist_ok=True)
    with (
        step(f"image {DEBIAN_REF} (mmdebstrap)") as current,
        tempfile.TemporaryDirectory() as tmp,
    ):
        start = time.monotonic()
        rootfs = Path(tmp) / "rootfs.tar"
        out = run_reporting(
            [*_BASE_ARGV, str(rootfs), DEBIAN_MIRROR], current, describe=mmdebstrap_phase
        )
        if out.returncode != 0:
            tail = "\n".join(out.stdout.strip().splitlines()[-20:])
            raise SeedError(f"mmdebstrap failed:\n{tail}")
        _podman(["import", "--change", 'CMD ["bash"]', str(rootfs), DEBIAN_REF])
        return store.save(key=key, started=start)


def _stage_context(spec: ImageSpec, context: Path) -> None:
    shutil.rmtree(context, ignore_errors=True)
    shutil.copytree(spec.dockerfile_dir, context / spec.dockerfile_at)
    for name, source in spec.context:
        target = context / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(
                source, target, ignore=lambda _d, names: [n for n in names if _skipped(Path(n))]
            )
        else:
            _link_or_copy(source, target)


def _link_or_copy(source: Path, target: Path) -> None:
    """Binaries are large; a hard link stages them without a second copy on disk."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _pypi_volumes(paths: SeedPaths) -> list[str]:
    """Trust the host's CA bundle in RUN steps, for this build only: this network's
    TLS chain is signed by a CA only the host trusts, and the Dockerfile stays the
    one a user with ordinary network access builds. The bundle is mounted on /mnt,
    which exists empty in Debian images, so no mount point is left in the image;
    /etc/pip.conf is left as an empty file, which pip reads as no configuration."""
    trust = paths.images / "pypi-trust"
    trust.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(HOST_CA, trust / "host-ca.crt")
    (trust / "pip.conf").write_text("[global]\ncert = /mnt/host-ca.crt\n")
    return [
        "--volume",
        f"{trust}:/mnt:ro",
        "--volume",
        f"{trust / 'pip.conf'}:/etc/pip.conf:ro",
    ]


def ensure_image(spec: ImageSpec, *, base: ImageArchive, paths: SeedPaths) -> ImageArchive:
    store = _Store(paths, spec.ref)
    # The base's own key, so an image built on another of these images (the Airflow
    # image on its stand-in) is rebuilt when that base changes.
    key = input_key(spec, _Store(paths, base.ref).cached_key() or base_key())
    if store.cached_key() == key:
        return ImageArchive(ref=spec.ref, archive=store.archive)
    require_free_space(paths.images, IMAGES_GIB, "building the seed's images")
    context = paths.images / "context" / _slug(spec.ref)
    with step(f"image {spec.ref} (podman build)") as current:
        start = time.monotonic()
        _stage_context(spec, context)
        args = ["build", "--network=host", "--pull=never", *_ULIMITS]
        args += ["--build-arg", f"{BASE_IMAGE_ARG}={base.ref}", "--tag", spec.ref]
        args += ["--build-arg", f"{VERSION_ARG}={spec.ref.rsplit(':', 1)[1]}"]
        for name, value in spec.build_args:
            args += ["--build-arg", f"{name}={value}"]
        if spec.needs_pypi:
            args += _pypi_volumes(paths)
        dockerfile = context / spec.dockerfile_at / "Dockerfile"
        _podman([*args, "--file", str(dockerfile), str(context)], log=store.log, current=current)
        return store.save(key=key, started=start)
