"""The images people deploy: the toolbox and an Airflow image with this provider.

docker/airflow/Dockerfile extends apache/airflow:<AIRFLOW_VERSION>. No registry
is reachable where CI builds it, so here it is built FROM a local stand-in with
the same Airflow version (docker/airflow-standin/Dockerfile, on the mmdebstrap
Debian base). The stand-in installs Airflow constrained to the versions this
checkout's environment resolved, as the official image installs it with
Airflow's published constraints.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from airflow_provider_garden import __version__
from airflow_provider_garden.localseed.build import TOOLBOX_REF, ensure_images
from airflow_provider_garden.localseed.images import (
    DEBIAN_REF,
    ImageArchive,
    ImageSpec,
    docker_dir,
    ensure_image,
    ensure_loaded,
)
from airflow_provider_garden.localseed.paths import SeedPaths
from airflow_provider_garden.pins import pinned

AIRFLOW_VERSION = pinned("apache-airflow")
STANDIN_REF = f"localhost/garden/airflow-standin:{AIRFLOW_VERSION}"
AIRFLOW_REF = f"localhost/garden/airflow:{__version__}"
_SELF = "airflow-provider-garden"


@dataclass(frozen=True, kw_only=True)
class BuiltImage:
    ref: str
    archive: Path
    size_bytes: int  # unpacked, as `podman images` reports it
    archive_bytes: int
    build_seconds: float  # of the build that made the cached archive


def constraints_text() -> str:
    """`name==version` of every distribution in this interpreter's environment."""
    pins = {
        d.metadata["Name"].lower(): d.version
        for d in metadata.distributions()
        if d.metadata["Name"] and d.metadata["Name"].lower() != _SELF
    }
    lines = [f"{name}=={version}" for name, version in sorted(pins.items())]
    header = "# The environment the provider's tests ran in (staged by the image build).\n"
    return header + "\n".join(lines) + "\n"


def _standin(paths: SeedPaths) -> ImageSpec:
    constraints = paths.images / "airflow-standin-constraints.txt"
    text = constraints_text()
    if not constraints.exists() or constraints.read_text() != text:
        constraints.parent.mkdir(parents=True, exist_ok=True)
        constraints.write_text(text)
    return ImageSpec(
        ref=STANDIN_REF,
        dockerfile_dir=docker_dir() / "airflow-standin",
        context=(("constraints.txt", constraints),),
        needs_pypi=True,
    )


def _airflow(repo: Path) -> ImageSpec:
    """The context is the repository's layout, as docker/airflow/Dockerfile expects."""
    return ImageSpec(
        ref=AIRFLOW_REF,
        dockerfile_dir=repo / "docker" / "airflow",
        dockerfile_at="docker/airflow",
        context=(
            ("pyproject.toml", repo / "pyproject.toml"),
            ("README.md", repo / "README.md"),
            ("airflow_provider_garden", repo / "airflow_provider_garden"),
            ("dags", repo / "dags"),
        ),
        build_args=(("AIRFLOW_VERSION", AIRFLOW_VERSION),),
        needs_pypi=True,
    )


def _described(archive: ImageArchive) -> BuiltImage:
    ensure_loaded(archive)
    stamp = json.loads(archive.archive.with_suffix("").with_suffix(".json").read_text())
    size = subprocess.run(
        ["podman", "image", "inspect", "--format", "{{.Size}}", archive.ref],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return BuiltImage(
        ref=archive.ref,
        archive=archive.archive,
        size_bytes=int(size.strip()),
        archive_bytes=int(stamp["archive_bytes"]),
        build_seconds=float(stamp["build_seconds"]),
    )


def ensure_release_images(paths: SeedPaths, *, airflow: bool = True) -> list[BuiltImage]:
    """Build (or find cached) the toolbox image and, with `airflow`, the Airflow image
    on its stand-in base; OCI archives in the seed's image cache."""
    base, toolbox = ensure_images(paths, only=[DEBIAN_REF, TOOLBOX_REF])
    built = [toolbox]
    if airflow:
        standin = ensure_image(_standin(paths), base=base, paths=paths)
        # podman's storage may have been reset while the stand-in's archive survived.
        ensure_loaded(standin)
        built += [standin, ensure_image(_airflow(docker_dir().parent), base=standin, paths=paths)]
    return [_described(a) for a in built]
