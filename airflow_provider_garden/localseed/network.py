"""Host plumbing of the local seed: packages, sysctls, bridge, mounts, iptables leftovers.

Setup creates only things named or addressed as the seed's own (bridge ``garden0``,
mounts under the state prefix); cleanup removes only those, plus iptables chains
whose rules mention the seed's CIDRs, so other users of the machine are not touched.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path

from airflow_provider_garden.localseed.config import (
    BRIDGE,
    BRIDGE_ADDRESS,
    POD_CIDR,
    SERVICE_CIDR,
)
from airflow_provider_garden.localseed.errors import SeedError

# Debian packages the running seed needs (the build needs others).
HOST_PACKAGES = (
    "containerd",
    "runc",
    "containernetworking-plugins",
    "iptables",
    "conntrack",
    "ethtool",
    "iproute2",
)

# Written to /proc/sys; a value is only ever raised, never lowered.
SYSCTLS = {
    "net/ipv4/ip_forward": 1,
    "fs/inotify/max_user_instances": 512,  # the kubelet and pods each want instances
    "fs/inotify/max_user_watches": 524288,
}

# Chains the kubelet and kube-proxy create even when no rule mentions a CIDR of ours.
_KUBE_MARKER_CHAINS = (
    "KUBE-KUBELET-CANARY",
    "KUBE-PROXY-CANARY",
    "KUBE-IPTABLES-HINT",
    "KUBE-FIREWALL",
    "KUBE-FORWARD",
    "KUBE-PROXY-FIREWALL",
    "KUBE-NODEPORTS",
    "KUBE-SERVICES",
    "KUBE-EXTERNAL-SERVICES",
    "KUBE-POSTROUTING",
    "KUBE-MARK-MASQ",
    "KUBE-MARK-DROP",
)


def run(argv: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a host command, turning a failure into a SeedError that shows its output."""
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        out = (proc.stderr or proc.stdout).strip()
        raise SeedError(f"`{' '.join(argv)}` failed ({proc.returncode}): {out}")
    return proc


def ensure_sysctls() -> None:
    for key, wanted in SYSCTLS.items():
        path = Path("/proc/sys") / key
        try:
            if int(path.read_text().split()[0]) < wanted:
                path.write_text(f"{wanted}\n")
        except OSError as err:
            raise SeedError(f"cannot set sysctl {key.replace('/', '.')}={wanted}: {err}") from err
    bridge_nf = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
    if not bridge_nf.exists():
        raise SeedError(
            "the kernel lacks br_netfilter (no /proc/sys/net/bridge): Service traffic between "
            "pods on the bridge would bypass iptables; load the module or use a kernel with it"
        )
    if bridge_nf.read_text().strip() != "1":
        bridge_nf.write_text("1\n")


def check_kernel() -> None:
    """Fail early, naming the feature, when the kernel cannot run containers here."""
    filesystems = Path("/proc/filesystems").read_text()
    if "overlay" not in filesystems:
        raise SeedError("the kernel has no overlay filesystem: containerd's snapshotter needs it")
    for controller in ("cpu", "memory", "pids"):
        v1 = Path("/sys/fs/cgroup") / controller
        v2 = Path("/sys/fs/cgroup/cgroup.controllers")
        if not v1.is_dir() and not (v2.exists() and controller in v2.read_text().split()):
            raise SeedError(f"cgroup controller {controller!r} is not mounted")
    if not Path("/dev/kmsg").exists():
        raise SeedError("/dev/kmsg is missing: the kubelet's OOM watcher needs it")


def ensure_bridge() -> None:
    """Create ``garden0`` with the node address; the CNI bridge plugin then reuses it."""
    if run(["ip", "link", "show", BRIDGE], check=False).returncode != 0:
        run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    addrs = run(["ip", "-o", "-4", "addr", "show", "dev", BRIDGE]).stdout
    if f" {BRIDGE_ADDRESS} " not in addrs:
        run(["ip", "addr", "add", BRIDGE_ADDRESS, "dev", BRIDGE])
    run(["ip", "link", "set", BRIDGE, "up"])


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


def ensure_rshared(directory: Path) -> None:
    """Bind-mount ``directory`` onto itself and make it rshared.

    The kubelet needs mount propagation from its root dir into containers, and ``/``
    is mounted private on these machines.
    """
    directory.mkdir(parents=True, exist_ok=True)
    mount = _mount_at(directory)
    if mount is None:
        run(["mount", "--bind", str(directory), str(directory)])
        mount = _mount_at(directory)
    if mount is None or "shared:" not in mount:
        run(["mount", "--make-rshared", str(directory)])


def _mount_at(directory: Path) -> str | None:
    """The mountinfo line of the topmost mount exactly at ``directory``, if any."""
    found = None
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        if _unescape(line.split()[4]) == str(directory):
            found = line
    return found


def mounts_under(prefix: Path) -> list[str]:
    """Mount points at or below ``prefix``, deepest first (the order to unmount them)."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = _unescape(line.split()[4])
        if point == str(prefix) or point.startswith(f"{prefix}/"):
            points.append(point)
    # Reverse mount order: a later mount may sit on top of an earlier one at the same point.
    points.reverse()
    return sorted(points, key=lambda p: p.count("/"), reverse=True)


def unmount_all(prefix: Path) -> list[str]:
    """Unmount everything under ``prefix``; return what stayed mounted."""
    for point in mounts_under(prefix):
        if run(["umount", point], check=False).returncode != 0:
            run(["umount", "--lazy", point], check=False)
    return mounts_under(prefix)


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo octal.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def seed_chains(save: str, *, markers: bool = True) -> dict[str, list[str]]:
    """Chains in ``iptables-save`` output that belong to the seed, by table.

    A chain belongs to the seed when one of its rules mentions the pod or service
    CIDR's prefix or our bridge, or (with ``markers``) it is one of the chains every
    kubelet and kube-proxy make, or a kube-proxy per-service chain.
    """
    prefixes = tuple(cidr.rsplit(".", 2)[0] + "." for cidr in (POD_CIDR, SERVICE_CIDR))
    found: dict[str, list[str]] = {}
    table = ""
    declared: list[str] = []
    mentions: dict[str, bool] = {}
    for line in save.splitlines():
        if line.startswith("*"):
            table, declared, mentions = line[1:], [], {}
        elif line.startswith(":"):
            declared.append(line[1:].split()[0])
        elif line.startswith("-A "):
            chain = line.split()[1]
            if any(p in line for p in prefixes) or f"--bridge {BRIDGE}" in line:
                mentions[chain] = True
        elif line == "COMMIT":
            ours = [
                c
                for c in declared
                if c.startswith(("KUBE-", "CNI-"))
                and (
                    mentions.get(c)
                    or (markers and (c in _KUBE_MARKER_CHAINS or _kube_proxy_hash_chain(c)))
                )
            ]
            if ours:
                found[table] = ours
    return found


def _kube_proxy_hash_chain(chain: str) -> bool:
    # kube-proxy's per-service/endpoint chains: KUBE-SVC-, KUBE-SEP-, KUBE-EXT-, ...
    return re.fullmatch(r"KUBE-(SVC|SVL|SEP|EXT|FW|XLB)-[A-Z0-9]{16}", chain) is not None


def remove_chains(*, markers: bool) -> dict[str, list[str]]:
    """Delete the seed's leftover iptables chains and the jumps into them; return what was found.

    ``markers``: also the generic kubelet/kube-proxy chains; pass False while another
    Kubernetes node runs on this host and may share them.
    """
    chains = seed_chains(run(["iptables-save"]).stdout, markers=markers)
    for table, names in chains.items():
        doomed = set(names)
        rules = run(["iptables-save", "-t", table]).stdout.splitlines()
        for rule in rules:
            parts = rule.split()
            if rule.startswith("-A ") and (
                ("-j" in parts and parts[parts.index("-j") + 1] in doomed)
                or ("-g" in parts and parts[parts.index("-g") + 1] in doomed)
            ):
                run(["iptables", "-t", table, "-D", *shlex.split(rule[3:])], check=False)
        for name in names:
            run(["iptables", "-t", table, "-F", name], check=False)
        for name in names:
            run(["iptables", "-t", table, "-X", name], check=False)
    return chains
