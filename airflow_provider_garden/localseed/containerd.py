"""Talking to the seed's private containerd: images, pod sandboxes, shims.

Always through our own socket, never the machine's /run/containerd/containerd.sock.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
from collections.abc import Iterable
from pathlib import Path

from airflow_provider_garden.localseed.config import Layout
from airflow_provider_garden.localseed.errors import SeedError

NAMESPACE = "k8s.io"  # the namespace the CRI plugin (and so the kubelet) uses


def _ctr(layout: Layout, *args: str, timeout: float = 600) -> str:
    argv = ["ctr", f"--address={layout.containerd_socket}", f"--namespace={NAMESPACE}", *args]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise SeedError(f"`{' '.join(argv)}` failed: {proc.stderr.strip()}")
    return proc.stdout


def image_digests(layout: Layout) -> dict[str, str]:
    """Image reference -> digest of its manifest (or index), as containerd has them."""
    out = _ctr(layout, "images", "list")
    found = {}
    for line in out.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 3:
            found[fields[0]] = fields[2]
    return found


def archive_digest(archive: Path) -> str:
    """Digest of the (first) manifest in an OCI archive's index.json."""
    with tarfile.open(archive) as tar:
        member = tar.extractfile("index.json")
        if member is None:
            raise SeedError(f"{archive} has no index.json: not an OCI archive")
        index = json.load(member)
    return str(index["manifests"][0]["digest"])


def import_images(layout: Layout, archives: Iterable[tuple[str, Path]]) -> list[str]:
    """Import each (ref, archive) whose ref is missing or differs; return the refs imported."""
    present = image_digests(layout)
    imported = []
    for ref, archive in archives:
        if present.get(ref) == archive_digest(archive):
            continue
        _ctr(layout, "images", "import", str(archive))
        if image_digests(layout).get(ref) is None:
            raise SeedError(f"importing {archive} did not create image {ref}")
        imported.append(ref)
    return imported


def remove_all_pods(layout: Layout, crictl: Path) -> str | None:
    """Stop and remove every pod sandbox through CRI, so CNI DEL frees IPs, veths and rules.

    Returns an error text when crictl failed (containerd may already be gone).
    """
    proc = subprocess.run(
        [
            str(crictl),
            f"--runtime-endpoint={layout.runtime_endpoint}",
            "--timeout=60s",
            "rmp",
            "--force",
            "--all",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return None if proc.returncode == 0 else (proc.stderr or proc.stdout).strip()


def shim_pids(layout: Layout) -> list[int]:
    """PIDs of containerd-shim-runc-v2 processes serving our containerd.

    Debian's containerd 1.6 writes no shim.pid; a shim names its containerd in its
    command line (``-address <socket>``), which tells ours from any other's.
    """
    wanted = f"\0-address\0{layout.containerd_socket}\0"
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "containerd-shim" in cmdline.split("\0", 1)[0] and wanted in cmdline + "\0":
            pids.append(int(proc.name))
    return pids


def sandbox_ids(layout: Layout, crictl: Path) -> list[str]:
    """IDs of the pod sandboxes our containerd has (empty when it does not answer)."""
    proc = subprocess.run(
        [
            str(crictl),
            f"--runtime-endpoint={layout.runtime_endpoint}",
            "--timeout=20s",
            "pods",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return proc.stdout.split() if proc.returncode == 0 else []
