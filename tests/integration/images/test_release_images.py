"""The images under docker/ build here with podman and do what they are for.

The toolbox image's real proof is the e2e suite (operator pods run it); here:
its user, its label and that it carries no build tools. The Airflow image is
built on the local stand-in base (no registry is reachable) and must run
Airflow with the provider registered and the bundled DAGs importing cleanly.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from airflow_provider_garden import __version__
from airflow_provider_garden.localseed.airflow_image import (
    AIRFLOW_REF,
    AIRFLOW_VERSION,
    BuiltImage,
    ensure_release_images,
)
from airflow_provider_garden.localseed.build import TOOLBOX_REF
from airflow_provider_garden.localseed.images import docker_dir
from airflow_provider_garden.localseed.paths import SeedPaths

pytestmark = pytest.mark.integration

# Each bundled DAG file is named after its DAG.
BUNDLED_DAGS = {p.stem for p in (docker_dir().parent / "dags").glob("*.py")}


@pytest.fixture(scope="module")
def images() -> dict[str, BuiltImage]:
    built = ensure_release_images(SeedPaths.default())
    for image in built:
        print(
            f"{image.ref}: {image.size_bytes / 2**20:.0f} MiB, archive "
            f"{image.archive_bytes / 2**20:.0f} MiB, built in {image.build_seconds:.1f}s"
        )
    return {image.ref: image for image in built}


def podman_run(image: str, *argv: str, entrypoint: str | None = None) -> str:
    cmd = ["podman", "run", "--rm", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]
    if entrypoint:
        cmd += ["--entrypoint", entrypoint]
    out = subprocess.run([*cmd, image, *argv], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def labels(image: str) -> dict[str, str]:
    out = subprocess.run(
        ["podman", "image", "inspect", "--format", "{{json .Labels}}", image],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout))


def test_toolbox_runs_unprivileged_without_build_tools(images: dict[str, BuiltImage]) -> None:
    assert labels(TOOLBOX_REF)["org.opencontainers.image.version"] == __version__
    script = (
        "id -u; id -g; "
        "for tool in pip pip3 gcc cc make apt-get; do command -v $tool || true; done; "
        "python3 -c 'import pip' 2>/dev/null && echo pip-module || true; "
        "python3 -c 'import setuptools' 2>/dev/null && echo setuptools-module || true"
    )
    out = podman_run(TOOLBOX_REF, "-c", script, entrypoint="sh").split()
    uid, gid, *found = out
    assert (uid, gid) == ("10001", "10001")
    # apt-get stays (Debian's own); nothing that builds or installs Python packages.
    assert [f for f in found if not f.endswith("apt-get")] == []
    version = json.loads(podman_run(TOOLBOX_REF, "version"))
    assert version["agent"] == __version__
    assert all(version[tool] for tool in ("kubectl", "etcd", "etcdctl", "etcdutl"))


def test_airflow_image_runs_airflow_with_the_provider(images: dict[str, BuiltImage]) -> None:
    assert labels(AIRFLOW_REF)["org.opencontainers.image.version"] == __version__
    assert podman_run(AIRFLOW_REF, "version").strip().splitlines()[-1] == AIRFLOW_VERSION
    providers = podman_run(AIRFLOW_REF, "providers", "list", "--output", "json")
    listed = {p["package_name"]: p["version"] for p in json.loads(providers)}
    assert listed["airflow-provider-garden"] == __version__


def test_bundled_dags_import_without_errors(images: dict[str, BuiltImage]) -> None:
    # The CLI prints warnings (no graphviz) on stdout too: each JSON answer is the
    # last line of its part.
    script = (
        "airflow db migrate >/dev/null 2>&1 && "
        "airflow dags list-import-errors --local --output json 2>/dev/null && echo '<<>>' && "
        "airflow dags list --local --output json 2>/dev/null"
    )
    out = podman_run(AIRFLOW_REF, "-c", script, entrypoint="bash")
    errors, dags = (part.strip().splitlines()[-1] for part in out.split("<<>>"))
    assert json.loads(errors) == []
    assert {d["dag_id"] for d in json.loads(dags)} == BUNDLED_DAGS
