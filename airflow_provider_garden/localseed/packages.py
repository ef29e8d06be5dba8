"""Debian packages the local seed needs, and etcd from Debian trixie.

Everything is installed idempotently: only what is missing, after one
`apt-get update`. etcd comes from trixie (bookworm's 3.4 is too old for
Kubernetes 1.32) through a private apt configuration under the cache, so the
machine's own sources never mention trixie.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from airflow_provider_garden.localseed import versions
from airflow_provider_garden.localseed.errors import SeedError
from airflow_provider_garden.localseed.paths import SeedPaths
from airflow_provider_garden.localseed.progress import Step, run_reporting, step

DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
ETCD_SUITE = "trixie"
ETCD_PACKAGES = ("etcd-server", "etcd-client")
# Docker's package: it provides and conflicts with Debian's containerd and runc, so
# installing those would make apt remove it (and Docker with it).
DOCKER_CONTAINERD = "containerd.io"
PROVIDED_BY_DOCKER_CONTAINERD = ("containerd", "runc")
# containerd releases that read the seed's version-2 config with the CRI plugin's
# 1.x option names: [lowest, first one not).
CONTAINERD_COMPATIBLE = ((1, 6), (2, 0))


def require_root(why: str) -> None:
    if os.geteuid() != 0:
        raise SeedError(f"{why} needs root: run it as root (e.g. with sudo)")


def require_free_space(path: Path, gib: float, why: str) -> None:
    probe = path
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free / 2**30
    if free < gib:
        raise SeedError(
            f"{why} needs {gib:.0f} GiB free under {path}, only {free:.1f} GiB are: free disk "
            "space (e.g. `go clean -cache`, `podman image prune`) or point GARDEN_SEED_CACHE "
            "at a larger disk"
        )


def missing_debian_packages(names: Sequence[str]) -> list[str]:
    missing = []
    for name in names:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${db:Status-Status}", name],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.stdout.strip() != "installed":
            missing.append(name)
    return missing


@functools.cache
def _apt_update() -> None:
    _apt(["apt-get", "update"])


def apt_action(line: str) -> str | None:
    """apt's per-package lines ("Unpacking podman (4.3.1+ds1-8+deb12u1) ...") as progress."""
    for verb in ("Get:", "Unpacking", "Setting up"):
        if line.startswith(verb):
            return line if len(line) <= 100 else line[:97] + "..."
    return None


def _apt(argv: list[str], cwd: Path | None = None, current: Step | None = None) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if current is None:
        out = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    else:
        out = run_reporting(argv, current, describe=apt_action, cwd=cwd, env=env)
    if out.returncode != 0:
        tail = "\n".join((out.stderr or out.stdout).strip().splitlines()[-15:])
        hint = " (disk full?)" if "No space left" in tail else ""
        raise SeedError(f"`{' '.join(argv)}` failed{hint}:\n{tail}")


def ensure_debian_packages(names: Sequence[str]) -> None:
    """Install what is missing; never remove a package (``--no-remove``): apt stops instead."""
    missing = missing_debian_packages(names)
    conflicting = set(missing) & set(PROVIDED_BY_DOCKER_CONTAINERD)
    if conflicting and not missing_debian_packages([DOCKER_CONTAINERD]):
        missing = beside_docker_containerd(missing, _containerd_version_text())
    if not missing:
        return
    require_root(f"installing Debian packages {', '.join(missing)}")
    with step(f"apt-get install {' '.join(missing)}") as current:
        _apt_update()
        _apt(
            ["apt-get", "install", "-y", "--no-install-recommends", "--no-remove", *missing],
            current=current,
        )


def _containerd_version_text() -> str | None:
    binary = shutil.which("containerd")
    if binary is None:
        return None
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip() or None


def containerd_version(text: str) -> tuple[int, int] | None:
    """(major, minor) from `containerd --version` ("containerd containerd.io 1.6.33 <commit>")."""
    found = re.search(r"(?<![\w.])v?(\d+)\.(\d+)\.\d+", text)
    return (int(found.group(1)), int(found.group(2))) if found else None


def beside_docker_containerd(missing: Sequence[str], version_text: str | None) -> list[str]:
    """What to install while Docker's containerd.io is installed: not its conflicts.

    Its containerd (and the runc it ships) serve the seed when the version reads the
    seed's configuration; otherwise stop, before apt could replace it.
    """
    version = containerd_version(version_text or "")
    low, high = CONTAINERD_COMPATIBLE
    if version is None or not low <= version < high:
        found = version_text or "no containerd binary on PATH"
        raise SeedError(
            f"Docker's {DOCKER_CONTAINERD} package is installed and its containerd "
            f"({found}) is not one the local seed can run (it needs {low[0]}.{low[1]}.x to "
            f"below {high[0]}.{high[1]}); not installing Debian's containerd, which would make "
            f"apt remove {DOCKER_CONTAINERD} and Docker with it. Upgrade or downgrade "
            f"{DOCKER_CONTAINERD}, or run the seed on a machine without Docker"
        )
    return [name for name in missing if name not in PROVIDED_BY_DOCKER_CONTAINERD]


@dataclass(frozen=True, kw_only=True)
class EtcdBinaries:
    etcd: Path
    etcdctl: Path
    etcdutl: Path


def pick_debian_version(available: Sequence[str], upstream: str) -> str | None:
    """The first (apt lists newest first) Debian version packaging `upstream`."""
    for version in available:
        without_epoch = version.split(":", 1)[-1]
        if without_epoch.rsplit("-", 1)[0] == upstream:
            return version
    return None


class _PrivateApt:
    """apt with its own sources, lists and cache: reads one suite, installs nothing."""

    def __init__(self, *, root: Path, suite: str) -> None:
        self.root = root
        self.suite = suite

    def _options(self) -> list[str]:
        etc, state = self.root / "etc", self.root / "state"
        return [
            f"-oDir::Etc::SourceList={etc / 'sources.list'}",
            f"-oDir::Etc::SourceParts={etc / 'sources.list.d'}",
            f"-oDir::Etc::Parts={etc / 'apt.conf.d'}",
            f"-oDir::Etc::PreferencesParts={etc / 'preferences.d'}",
            f"-oDir::State={state}",
            f"-oDir::State::status={state / 'status'}",
            f"-oDir::Cache={self.root / 'cache'}",
            "-oAPT::Architecture=amd64",
            "-oAPT::Sandbox::User=root",
            "-oDebug::NoLocking=1",
        ]

    def update(self) -> None:
        for sub in ("etc/sources.list.d", "etc/apt.conf.d", "etc/preferences.d"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "state/lists/partial").mkdir(parents=True, exist_ok=True)
        (self.root / "cache/archives/partial").mkdir(parents=True, exist_ok=True)
        (self.root / "state/status").touch()
        (self.root / "etc/sources.list").write_text(
            f"deb [signed-by={DEBIAN_KEYRING}] {DEBIAN_MIRROR} {self.suite} main\n"
        )
        _apt(["apt-get", *self._options(), "update"])

    def versions(self, package: str) -> list[str]:
        out = subprocess.run(
            ["apt-cache", *self._options(), "madison", package],
            capture_output=True,
            text=True,
            check=True,
        )
        return [line.split("|")[1].strip() for line in out.stdout.splitlines() if "|" in line]

    def download(self, pins: Sequence[str], dest: Path) -> list[Path]:
        _apt(["apt-get", *self._options(), "download", *pins], cwd=dest)
        return sorted(dest.glob("*.deb"))


def etcd_binaries(paths: SeedPaths) -> EtcdBinaries:
    target = paths.bin / f"etcd-{versions.ETCD}"
    return EtcdBinaries(
        etcd=target / "etcd", etcdctl=target / "etcdctl", etcdutl=target / "etcdutl"
    )


def etcd_is_installed(paths: SeedPaths) -> bool:
    bins = etcd_binaries(paths)
    stamp = bins.etcd.parent / ".debian-version"
    return stamp.exists() and all(p.exists() for p in (bins.etcd, bins.etcdctl, bins.etcdutl))


def ensure_etcd(paths: SeedPaths) -> EtcdBinaries:
    bins = etcd_binaries(paths)
    if etcd_is_installed(paths):
        return bins
    require_root("downloading etcd from Debian trixie with apt")
    apt = _PrivateApt(root=paths.cache / f"apt-{ETCD_SUITE}", suite=ETCD_SUITE)
    with step(f"etcd {versions.ETCD} from Debian {ETCD_SUITE}"):
        apt.update()
        available = apt.versions(ETCD_PACKAGES[0])
        debian_version = pick_debian_version(available, versions.ETCD)
        if debian_version is None:
            raise SeedError(
                f"Debian {ETCD_SUITE} no longer ships etcd {versions.ETCD} (it has "
                f"{', '.join(available) or 'none'}): update ETCD in localseed/versions.py"
            )
        target = bins.etcd.parent
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            debs = apt.download([f"{p}={debian_version}" for p in ETCD_PACKAGES], Path(tmp))
            tree = Path(tmp) / "tree"
            for deb in debs:
                subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
            target.mkdir(exist_ok=True)
            for binary in (bins.etcd, bins.etcdctl, bins.etcdutl):
                os.replace(tree / "usr/bin" / binary.name, binary)
        _verify_etcd(bins.etcd)
        (target / ".debian-version").write_text(debian_version + "\n")
    return bins


def _verify_etcd(etcd: Path) -> None:
    out = subprocess.run([str(etcd), "--version"], capture_output=True, text=True, check=False)
    expected = f"etcd Version: {versions.ETCD}"
    if expected not in out.stdout:
        raise SeedError(f"{etcd} --version did not report {expected!r}:\n{out.stdout}{out.stderr}")
