"""hack/prereqs.sh on a bare Debian 12: afterwards go, python3 -m venv and kubectl work.

The machine is the seed's own Debian base image (mmdebstrap minbase of bookworm: no
make, no Python, no Go) run with podman, with a copy of this checkout. Debian's
packages come from the mirror over plain HTTP; Go's module proxy is reached with
the host's CA bundle (this network's TLS chain is signed by a CA only the host
trusts). The seed's Kubernetes build is mounted read-only as the cache the script
finds kubectl in: compiling Kubernetes again inside (~7 min cold on 2 cores)
would prove only what the seed's own build already proves, and the test checks
that the venv's kubectl is exactly that build.

Not under the seed lock: it touches neither the seed nor its cache (read-only).
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from airflow_provider_garden.localseed import versions
from airflow_provider_garden.localseed.build import SEED_KUBERNETES, ensure_images, ensure_kubectl
from airflow_provider_garden.localseed.images import DEBIAN_REF, HOST_CA
from airflow_provider_garden.localseed.paths import SeedPaths

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
CACHE = "/cache"  # GARDEN_SEED_CACHE inside the container
ULIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096")


@dataclass
class Machine:
    """A running bare Debian 12 container; `sh` runs a bash command line in /src."""

    container: str

    def sh(self, command: str, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["podman", "exec", "--workdir", "/src", self.container, "bash", "-c", command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def _copy_checkout(dest: Path) -> None:
    """The files a fresh clone has (tracked plus new, not ignored): no .venv, no caches."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        source = REPO / rel
        if source.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / rel)


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machine]:
    paths = SeedPaths.default()
    ensure_images(paths, only=[DEBIAN_REF])
    kubectl = ensure_kubectl(paths)
    src = tmp_path_factory.mktemp("checkout")
    _copy_checkout(src)
    name = f"garden-prereqs-{secrets.token_hex(3)}"
    started = subprocess.run(
        [
            "podman", "run", "--detach", "--rm", "--name", name, "--network=host", *ULIMITS,
            "--volume", f"{src}:/src",
            "--volume", f"{HOST_CA}:/run/host-ca.crt:ro",
            "--env", "SSL_CERT_FILE=/run/host-ca.crt",
            "--volume", f"{kubectl.parent}:{CACHE}/bin/{SEED_KUBERNETES.name}:ro",
            "--env", f"GARDEN_SEED_CACHE={CACHE}",
            # ends by itself should this session be killed before removing it
            DEBIAN_REF, "sleep", "1800",
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    container = started.stdout.strip()
    try:
        yield Machine(container)
    finally:
        subprocess.run(["podman", "rm", "--force", "--time", "0", container], capture_output=True)


def _report(what: str, seconds: float) -> None:
    print(f"\n    {what}: {seconds:.0f}s", file=sys.stderr)


@pytest.fixture(scope="module")
def first_run(machine: Machine) -> subprocess.CompletedProcess[str]:
    start = time.monotonic()
    done = machine.sh("hack/prereqs.sh")
    _report("hack/prereqs.sh on bare Debian 12", time.monotonic() - start)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_bare_image_lacks_what_the_script_installs(machine: Machine) -> None:
    """Checked before the first run: otherwise the test could pass on a prepared image."""
    missing = machine.sh("command -v make go python3 git gcc kubectl")
    assert (missing.returncode, missing.stdout) == (1, "")


@pytest.mark.usefixtures("first_run")
def test_go_is_the_pinned_release_fetched_through_the_module_proxy(machine: Machine) -> None:
    go = machine.sh('go version && readlink -f "$(command -v go)"')
    assert go.returncode == 0, go.stderr
    version, binary = go.stdout.splitlines()
    assert version == f"go version go{versions.GO} linux/amd64"
    # Debian's own go (backports) stays older; the toolchain came as a module
    assert binary.startswith(f"/root/go/pkg/mod/golang.org/toolchain@v0.0.1-go{versions.GO}.")


@pytest.mark.usefixtures("first_run")
def test_python_makes_a_venv(machine: Machine) -> None:
    venv = machine.sh(
        "python3 -m venv /tmp/probe && /tmp/probe/bin/python -c 'import sys; print(sys.prefix)'"
    )
    assert (venv.returncode, venv.stdout.strip()) == (0, "/tmp/probe"), venv.stderr


@pytest.mark.usefixtures("first_run")
def test_kubectl_is_the_seeds_build_on_the_venvs_path(machine: Machine) -> None:
    kubectl = machine.sh(".venv/bin/kubectl version --client && readlink -f .venv/bin/kubectl")
    assert kubectl.returncode == 0, kubectl.stderr
    assert f"Client Version: {versions.KUBERNETES}" in kubectl.stdout
    assert kubectl.stdout.splitlines()[-1] == f"{CACHE}/bin/{SEED_KUBERNETES.name}/kubectl"


@pytest.mark.usefixtures("first_run")
def test_kernel_features_were_checked(first_run: subprocess.CompletedProcess[str]) -> None:
    assert "kernel: br_netfilter present" in first_run.stderr
    assert "kernel: overlay present" in first_run.stderr


@pytest.mark.usefixtures("first_run")
def test_a_module_that_cannot_be_loaded_stops_the_script_naming_it(machine: Machine) -> None:
    """The step br_netfilter and overlay go through, with a module no kernel has: the
    real modprobe (kmod installed for it) fails, and so does the step, naming it."""
    done = machine.sh("source hack/prereqs.sh && ensure_module garden_no_such_module false")
    assert done.returncode == 1, done.stderr
    assert (
        "prereqs: the kernel module garden_no_such_module is missing and could not be loaded "
        "(modprobe garden_no_such_module: modprobe: FATAL: Module garden_no_such_module not found"
    ) in done.stderr


def test_a_second_run_installs_nothing(
    machine: Machine, first_run: subprocess.CompletedProcess[str]
) -> None:
    assert "apt-get install" in first_run.stderr  # the first run did install
    start = time.monotonic()
    again = machine.sh("hack/prereqs.sh")
    _report("hack/prereqs.sh again (all present)", time.monotonic() - start)
    assert again.returncode == 0, again.stderr
    assert "apt-get" not in again.stderr
    assert f"is go{versions.GO} (>= {versions.GO})" in again.stderr
    assert "all prerequisites present" in again.stderr
