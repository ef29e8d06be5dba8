"""``down`` undoes only what the seed recorded, shown on the real kernel without the shared seed.

The network part runs in network namespaces of the test's own (``ip netns``): chains
and nft tables that belong to someone else are planted before and while a seed-like
set is recorded and removed by the same code ``down`` runs. Mounts are real mounts
under a temporary seed home. The full ``down`` of the running seed with planted
foreign things is in test_local_seed.py (teardown stage).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_garden.localseed import home, network
from airflow_provider_garden.localseed.errors import SeedError
from airflow_provider_garden.localseed.footprint import HostRecord, cni_chain_names
from airflow_provider_garden.localseed.netfilter import Netfilter
from airflow_provider_garden.localseed.packages import ensure_debian_packages
from airflow_provider_garden.localseed.paths import SeedPaths
from airflow_provider_garden.localseed.processes import executable_of, identity_of
from airflow_provider_garden.localseed.seed import CNI_NETWORK, LocalSeed

# Changes iptables, nft and mounts on the seed's host: alone, before the lanes (tests/lanes.py).
pytestmark = [pytest.mark.integration, pytest.mark.serial]

SANDBOX = "5eed0000000000000000000000000000000000000000000000000000000000aa"


@pytest.fixture(scope="module", autouse=True)
def _tools() -> None:
    if os.geteuid() != 0:
        pytest.fail("these tests change iptables, nft and mounts: run them as root")
    ensure_debian_packages(["iptables", "nftables", "iproute2"])


@pytest.fixture
def netns() -> Iterator[str]:
    name = f"garden-hostsafe-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=True)


def _in(netns: str, *argv: str) -> str:
    return subprocess.run(
        ["ip", "netns", "exec", netns, *argv], capture_output=True, text=True, check=True
    ).stdout


def _ipt(netns: str, *rules: str, tool: str = "iptables") -> None:
    for rule in rules:
        _in(netns, tool, "-w", *rule.split())


def _chain_rules(netns: str, tool: str = "iptables") -> set[str]:
    """Every declared chain and rule, as save prints them (without counters)."""
    out = _in(netns, f"{tool}-save")
    return {line.split(" [")[0] for line in out.splitlines() if line.startswith((":", "-A", "*"))}


def _plant_foreign_before(netns: str) -> None:
    # A kubeadm-style cluster's Service chain: its rule uses 10.96.x like the seed's.
    _ipt(
        netns,
        "-t nat -N KUBE-SVC-KUBEADMFOREIGN0001",
        "-t nat -A KUBE-SVC-KUBEADMFOREIGN0001 -d 10.96.0.1/32 -p tcp -j RETURN",
        "-t nat -A PREROUTING -d 10.96.0.1/32 -j KUBE-SVC-KUBEADMFOREIGN0001",
        "-t filter -N DOCKER-USER",
        "-t filter -A FORWARD -j DOCKER-USER",
    )
    _in(netns, "nft", "add", "table", "inet", "foreign_before")
    hook = "{ type filter hook input priority 0 ; }"
    _in(netns, "nft", "add", "chain", "inet", "foreign_before", "c", hook)
    _in(netns, "nft", "add", "rule", "inet", "foreign_before", "c", "counter")


def _seed_like_up(netns: str) -> None:
    """What the seed's kubelet and kube-proxy make when they start."""
    _ipt(
        netns,
        "-t nat -N KUBE-SERVICES",
        "-t nat -N KUBE-MARK-MASQ",
        "-t nat -N KUBE-POSTROUTING",
        "-t nat -A PREROUTING -m comment --comment kubernetes-service-portals -j KUBE-SERVICES",
        "-t nat -A OUTPUT -j KUBE-SERVICES",
        "-t nat -A POSTROUTING -j KUBE-POSTROUTING",
        "-t nat -A KUBE-MARK-MASQ -j MARK --or-mark 0x4000",
        "-t filter -N KUBE-FIREWALL",
        "-t filter -A INPUT -j KUBE-FIREWALL",
        "-t filter -A KUBE-FIREWALL -m mark --mark 0x8000/0x8000 -j DROP",
    )
    _ipt(netns, "-t mangle -N KUBE-KUBELET-CANARY", tool="ip6tables")
    _in(netns, "nft", "add", "table", "ip", "kube-proxy")


def _seed_like_running(netns: str) -> str:
    """What appears later: Service chains, a pod's CNI chain; returns that chain's name."""
    masq = sorted(cni_chain_names(CNI_NETWORK, [SANDBOX]))[0]  # "CNI-<hash>" sorts first
    _ipt(
        netns,
        "-t nat -N KUBE-SVC-NPX46M4PTMTKRN6Y",
        "-t nat -N KUBE-SEP-AAAAAAAAAAAAAAAA",
        "-t nat -A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -j KUBE-SVC-NPX46M4PTMTKRN6Y",
        "-t nat -A KUBE-SVC-NPX46M4PTMTKRN6Y -j KUBE-SEP-AAAAAAAAAAAAAAAA",
        "-t nat -A KUBE-SEP-AAAAAAAAAAAAAAAA -p tcp -j DNAT --to-destination 10.200.0.1:6443",
        f"-t nat -N {masq}",
        f"-t nat -A {masq} -d 10.200.0.0/16 -j ACCEPT",
        f"-t nat -A POSTROUTING -s 10.200.0.9/32 -j {masq}",
    )
    return masq


def _plant_foreign_while_running(netns: str) -> None:
    # Someone else's chains whose rules mention the seed's pod and service ranges.
    _ipt(
        netns,
        "-t filter -N LATE-FOREIGN",
        "-t filter -A LATE-FOREIGN -s 10.200.0.0/16 -j ACCEPT",
        "-t filter -A FORWARD -j LATE-FOREIGN",
        "-t nat -N CNI-0123456789abcdef01234567",
        "-t nat -A CNI-0123456789abcdef01234567 -d 10.96.5.0/24 -j ACCEPT",
        "-t nat -A POSTROUTING -s 10.88.0.2/32 -j CNI-0123456789abcdef01234567",
    )
    _in(netns, "nft", "add", "table", "ip", "foreign_later")


@pytest.fixture
def tmp_seed(tmp_path: Path) -> LocalSeed:
    paths = SeedPaths(cache=tmp_path / "cache", state=tmp_path / "home")
    home.ensure_home(paths.state)
    return LocalSeed(paths=paths)


@pytest.mark.parametrize("other_kubernetes", [False, True])
def test_down_removes_recorded_chains_and_tables_and_nothing_foreign(
    netns: str, tmp_seed: LocalSeed, other_kubernetes: bool
) -> None:
    tmp_seed.netfilter = Netfilter(netns=netns)
    _plant_foreign_before(netns)
    record = HostRecord()
    tmp_seed._begin_recording(record)  # as `up` does with nothing of the seed running
    _seed_like_up(netns)
    tmp_seed._record_new_chains(record)  # as `up` does once the node is ready
    assert sorted(record.chains["ipv4/nat"]) == [
        "KUBE-MARK-MASQ",
        "KUBE-POSTROUTING",
        "KUBE-SERVICES",
    ]
    assert record.chains["ipv6/mangle"] == ["KUBE-KUBELET-CANARY"]
    # iptables-nft made the ip6 mangle table for the kubelet's canary chain.
    assert sorted(record.nft_tables) == ["ip kube-proxy", "ip6 mangle"]
    masq = _seed_like_running(netns)
    _plant_foreign_while_running(netns)
    before = _chain_rules(netns)
    foreign = {
        line
        for line in before
        if any(
            name in line
            for name in ("KUBEADMFOREIGN", "DOCKER-USER", "LATE-FOREIGN", "CNI-0123456789abcdef")
        )
    }
    assert len(foreign) == 11, sorted(foreign)  # 4 chains, their 3 rules, 4 jumps

    tmp_seed._remove_chains(record, {SANDBOX}, others=other_kubernetes)

    after = _chain_rules(netns)
    assert foreign <= after  # every foreign chain and rule, 10.96./10.200. or not
    tables = _in(netns, "nft", "list", "tables").split("\n")
    assert "table inet foreign_before" in tables
    assert "table ip foreign_later" in tables
    assert "counter" in _in(netns, "nft", "list", "table", "inet", "foreign_before")
    assert masq not in "\n".join(after)  # the seed's own sandbox chain goes either way
    ours = ("KUBE-SERVICES", "KUBE-SVC-NPX46M4PTMTKRN6Y", "KUBE-SEP-", "KUBE-FIREWALL")
    if other_kubernetes:
        # All nodes share these names: they stay, and so does what they lead to.
        assert {
            ":KUBE-SERVICES -",
            ":KUBE-FIREWALL -",
            ":KUBE-SVC-NPX46M4PTMTKRN6Y -",
            "-A PREROUTING -m comment --comment kubernetes-service-portals -j KUBE-SERVICES",
        } <= after
        assert "table ip kube-proxy" in tables
        assert "table ip6 mangle" in tables  # holds the shared canary chain
    else:
        assert not [line for line in after if any(name in line for name in ours)]
        assert "KUBE-KUBELET-CANARY" not in _in(netns, "ip6tables-save")
        assert "table ip kube-proxy" not in tables
        assert "table ip6 mangle" not in tables  # created for the seed, empty now
        seeds = {line for line in before - foreign if "KUBE-" in line or masq in line}
        assert after == before - seeds


def _mount_tmpfs(point: Path) -> None:
    point.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(point)], check=True)


def test_down_unmounts_only_its_mounts_and_purge_refuses_a_foreign_one(
    tmp_seed: LocalSeed, tmp_path: Path
) -> None:
    layout = tmp_seed.layout
    record = HostRecord(active=True)
    assert network.ensure_rshared(layout.kubelet_dir)  # the seed's own bind mount
    record.mounts.append(str(layout.kubelet_dir))
    volume = layout.kubelet_dir / "pods/p1/volumes/kubernetes.io~empty-dir/v"
    rootfs = layout.containerd_state / "io.containerd.runtime.v2.task/k8s.io/c1/rootfs"
    planted = layout.local_volumes_dir / "planted"  # somebody's tmpfs bind inside the home
    outside = tmp_path / "outside"
    try:
        _mount_tmpfs(volume)
        _mount_tmpfs(rootfs)
        _mount_tmpfs(tmp_path / "src")
        (tmp_path / "src/keep").write_text("theirs")
        planted.mkdir(parents=True)
        subprocess.run(["mount", "--bind", str(tmp_path / "src"), str(planted)], check=True)
        _mount_tmpfs(outside)

        network.unmount(tmp_seed._our_mounts(record))

        points = network.mount_points()
        assert str(planted) in points
        assert str(outside) in points
        assert (planted / "keep").read_text() == "theirs"
        for gone in (volume, rootfs, layout.kubelet_dir):
            assert str(gone) not in points
        with pytest.raises(SeedError, match=f"mounts remain under it .*{planted}"):
            tmp_seed._purge()
        assert (planted / "keep").read_text() == "theirs"
        assert (tmp_seed.paths.state / home.MARKER).exists()
    finally:
        for point in (volume, rootfs, layout.kubelet_dir, planted, tmp_path / "src", outside):
            while str(point) in network.mount_points():
                subprocess.run(["umount", str(point)], check=True)


def test_purge_refuses_a_foreign_home_and_deletes_nothing(tmp_path: Path) -> None:
    foreign = tmp_path / "var-lib"  # what /var/lib looks like: not the seed's layout
    for sub in ("dpkg", "apt", "kubelet"):
        (foreign / sub).mkdir(parents=True)
        (foreign / sub / "data").write_text(sub)
    env = {**os.environ, "GARDEN_SEED_HOME": str(foreign)}
    proc = subprocess.run(
        [sys.executable, "-m", "airflow_provider_garden.cli.main", "local-seed", "down", "--purge"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 1, proc.stderr
    assert f"refusing to use {foreign} as the local seed's home" in proc.stderr
    assert home.MARKER in proc.stderr
    assert sorted(p.name for p in foreign.rglob("*")) == sorted(
        ["dpkg", "apt", "kubelet", "data", "data", "data"]
    )


def test_the_whole_down_of_a_seed_spares_everything_foreign(
    netns: str, tmp_seed: LocalSeed, tmp_path: Path
) -> None:
    """`down` and `down --purge` end to end on a seed home of this test's own.

    Its chains live in the test's network namespace; on this host the shared seed's
    kubelet would count as another Kubernetes, so this seed is given the view of its
    namespace, where none runs (the case in which `down` removes the most).
    """
    seed = tmp_seed
    seed.other_kubernetes = lambda _ours: []
    seed.netfilter = Netfilter(netns=netns)
    layout = seed.layout
    _plant_foreign_before(netns)
    with seed._lock():
        record = seed._open()
    seed._begin_recording(record)
    record.host_dirs = []  # the host's kubelet paths belong to the shared seed, not this one
    _seed_like_up(netns)
    seed._record_new_chains(record)
    masq = _seed_like_running(netns)
    (layout.runc_root / "k8s.io" / SANDBOX).mkdir(parents=True)  # the sandbox runc knows
    _plant_foreign_while_running(netns)
    assert network.ensure_rshared(layout.kubelet_dir)
    record.mounts.append(str(layout.kubelet_dir))
    seed._save_record(record)
    volume = layout.kubelet_dir / "pods/p1/volumes/kubernetes.io~empty-dir/v"
    planted = layout.local_volumes_dir / "planted"
    foreign_proc = subprocess.Popen(["sleep", "300"])
    foreign_lines = {
        line
        for line in _chain_rules(netns)
        if any(n in line for n in ("KUBEADMFOREIGN", "DOCKER-USER", "LATE-FOREIGN", "CNI-0123"))
    }
    try:
        _mount_tmpfs(volume)
        _mount_tmpfs(tmp_path / "src")
        (tmp_path / "src/keep").write_text("theirs")
        planted.mkdir(parents=True)
        subprocess.run(["mount", "--bind", str(tmp_path / "src"), str(planted)], check=True)
        who = identity_of(foreign_proc.pid)
        assert who is not None
        for name in ("containerd", "kube-proxy"):  # as if after a reboot reused the PIDs
            seed.table.pid_file(name).write_text(
                f"{who.pid}\n{executable_of(who.pid)}\nfp\n{who.start_ticks + 1}\n{who.boot_id}\n"
            )

        with pytest.raises(SeedError, match=f"mounts remain under it .*{planted}"):
            seed.down(purge=True)

        assert foreign_proc.poll() is None
        after = _chain_rules(netns)
        assert foreign_lines <= after
        assert not [line for line in after if "KUBE-" in line and "KUBEADMFOREIGN" not in line]
        assert masq not in "\n".join(after)
        tables = _in(netns, "nft", "list", "tables")
        assert "inet foreign_before" in tables
        assert "ip foreign_later" in tables
        assert "ip kube-proxy" not in tables
        points = network.mount_points()
        assert str(planted) in points
        assert str(volume) not in points
        assert str(layout.kubelet_dir) not in points
        assert (planted / "keep").read_text() == "theirs"
        left = HostRecord.from_json(seed.record_file.read_text())
        assert (left.active, left.chains, left.mounts) == (False, {}, [])

        # A stopped kubeadm node's chains, named as all nodes name them: a `down` of a
        # seed that is already down records and removes none of them.
        _ipt(netns, "-t nat -N KUBE-SERVICES", "-t nat -A OUTPUT -j KUBE-SERVICES")
        subprocess.run(["umount", str(planted)], check=True)
        assert seed.down(purge=True).empty()
        assert not seed.paths.state.exists()
        assert "-A OUTPUT -j KUBE-SERVICES" in _chain_rules(netns)
        assert (tmp_path / "src/keep").read_text() == "theirs"
    finally:
        foreign_proc.kill()
        foreign_proc.wait()
        for point in (volume, layout.kubelet_dir, planted, tmp_path / "src"):
            while str(point) in network.mount_points():
                subprocess.run(["umount", str(point)], check=True)
