"""Host plumbing of the local seed: packages, sysctls, bridge, mounts.

Setup creates only things named as the seed's own (bridge ``garden0``, mounts under
its home) and reports what it changed (sysctls raised, mounts made) for the host
record; cleanup undoes only what footprint.py finds recorded as ours. iptables
chains and nft tables are handled in netfilter.py.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from airflow_provider_garden.localseed.config import BRIDGE, BRIDGE_ADDRESS
from airflow_provider_garden.localseed.errors import SeedError
from airflow_provider_garden.localseed.footprint import (
    SysctlChange,
    sysctls_to_raise,
    sysctls_to_restore,
)

# Debian packages the running seed needs (the build needs others).
HOST_PACKAGES = (
    "containerd",
    "runc",
    "containernetworking-plugins",
    "iptables",
    "conntrack",
    "ethtool",
    "iproute2",
    "nftables",  # `nft`: to see and remove the nft tables the seed's components create
)

# Written to /proc/sys; a value is only ever raised, never lowered, and the value
# it had is recorded so ``down`` can put it back.
SYSCTLS = {
    "net/ipv4/ip_forward": 1,
    "fs/inotify/max_user_instances": 512,  # the kubelet and pods each want instances
    "fs/inotify/max_user_watches": 524288,
}
BRIDGE_NF_CALL_IPTABLES = "net/bridge/bridge-nf-call-iptables"
PROC_SYS = Path("/proc/sys")


def run(argv: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a host command, turning a failure into a SeedError that shows its output."""
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        out = (proc.stderr or proc.stdout).strip()
        raise SeedError(f"`{' '.join(argv)}` failed ({proc.returncode}): {out}")
    return proc


def read_sysctls(keys: Sequence[str], *, root: Path = PROC_SYS) -> dict[str, str]:
    """Current values of the sysctls that exist (keys as /proc/sys paths)."""
    found = {}
    for key in keys:
        try:
            found[key] = (root / key).read_text().strip()
        except OSError:
            continue
    return found


def ensure_sysctls(*, root: Path = PROC_SYS) -> dict[str, SysctlChange]:
    """Raise the sysctls the seed needs; return those raised, with their earlier values."""
    if not (root / BRIDGE_NF_CALL_IPTABLES).exists():
        raise SeedError(
            "the kernel lacks br_netfilter (no /proc/sys/net/bridge): Service traffic between "
            "pods on the bridge would bypass iptables; run hack/prereqs.sh (it loads the module "
            "or says why it cannot) or use a kernel with it"
        )
    wanted = {**SYSCTLS, BRIDGE_NF_CALL_IPTABLES: 1}
    raised = sysctls_to_raise(wanted, read_sysctls(list(wanted), root=root))
    for key, change in raised.items():
        try:
            (root / key).write_text(f"{change.set}\n")
        except OSError as err:
            raise SeedError(
                f"cannot set sysctl {key.replace('/', '.')}={change.set}: {err}"
            ) from err
    return raised


def restore_sysctls(
    recorded: Mapping[str, SysctlChange], *, root: Path = PROC_SYS
) -> tuple[dict[str, str], dict[str, str]]:
    """Put back what the seed raised; return (restored key -> value, left key -> why)."""
    restore, left = sysctls_to_restore(recorded, read_sysctls(list(recorded), root=root))
    for key, value in list(restore.items()):
        try:
            (root / key).write_text(f"{value}\n")
        except OSError as err:
            left[key] = f"cannot write {value}: {err}"
            del restore[key]
    return restore, left


def check_kernel() -> None:
    """Fail early, naming the feature, when the kernel cannot run containers here."""
    filesystems = Path("/proc/filesystems").read_text()
    if "overlay" not in filesystems:
        raise SeedError(
            "the kernel has no overlay filesystem: containerd's snapshotter needs it; run "
            "hack/prereqs.sh (it loads the module or says why it cannot)"
        )
    for controller in ("cpu", "memory", "pids"):
        v1 = Path("/sys/fs/cgroup") / controller
        v2 = Path("/sys/fs/cgroup/cgroup.controllers")
        if not v1.is_dir() and not (v2.exists() and controller in v2.read_text().split()):
            raise SeedError(f"cgroup controller {controller!r} is not mounted")
    if not Path("/dev/kmsg").exists():
        raise SeedError("/dev/kmsg is missing: the kubelet's OOM watcher needs it")


def ensure_bridge() -> bool:
    """Create ``garden0`` with the node address (the CNI bridge plugin then reuses it);
    True if it was created now."""
    created = not bridge_exists()
    if created:
        run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    addrs = run(["ip", "-o", "-4", "addr", "show", "dev", BRIDGE]).stdout
    if f" {BRIDGE_ADDRESS} " not in addrs:
        run(["ip", "addr", "add", BRIDGE_ADDRESS, "dev", BRIDGE])
    run(["ip", "link", "set", BRIDGE, "up"])
    return created


def delete_bridge() -> None:
    """Delete leftover veths on the bridge, then the bridge itself."""
    if run(["ip", "link", "show", BRIDGE], check=False).returncode != 0:
        return
    for veth in bridge_ports():
        run(["ip", "link", "delete", veth], check=False)
    run(["ip", "link", "delete", BRIDGE])


def bridge_ports() -> list[str]:
    out = run(["ip", "-o", "link", "show", "master", BRIDGE], check=False).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line]


def bridge_exists() -> bool:
    return run(["ip", "link", "show", BRIDGE], check=False).returncode == 0


def ensure_rshared(directory: Path) -> bool:
    """Bind-mount ``directory`` onto itself and make it rshared; True if it mounted now.

    The kubelet needs mount propagation from its root dir into containers, and ``/``
    is mounted private on these machines.
    """
    directory.mkdir(parents=True, exist_ok=True)
    mount = _mount_at(directory)
    mounted = mount is None
    if mounted:
        run(["mount", "--bind", str(directory), str(directory)])
        mount = _mount_at(directory)
    if mount is None or "shared:" not in mount:
        run(["mount", "--make-rshared", str(directory)])
    return mounted


def _mount_at(directory: Path) -> str | None:
    """The mountinfo line of the topmost mount exactly at ``directory``, if any."""
    found = None
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        if _unescape(line.split()[4]) == str(directory):
            found = line
    return found


def mount_points() -> list[str]:
    """Every mount point of this mount namespace, in mount order."""
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    return [_unescape(line.split()[4]) for line in lines]


def mounts_under(prefix: Path) -> list[str]:
    """Mount points at or below ``prefix``, deepest first."""
    points = [p for p in mount_points() if p == str(prefix) or p.startswith(f"{prefix}/")]
    points.reverse()  # a later mount may sit on top of an earlier one at the same point
    return sorted(points, key=lambda p: p.count("/"), reverse=True)


def unmount(points: Sequence[str]) -> None:
    """Unmount each point (given deepest first), lazily if it is busy."""
    for point in points:
        if run(["umount", point], check=False).returncode != 0:
            run(["umount", "--lazy", point], check=False)


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo octal.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)
