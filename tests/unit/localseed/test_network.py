"""Mount points and sysctls as the host shows them (files standing in for /proc)."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_garden.localseed import network
from airflow_provider_garden.localseed.errors import SeedError


def test_mounts_under_prefix_come_deepest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mountinfo = tmp_path / "mountinfo"
    lines = [
        "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw",
        "30 22 254:0 /s/kubelet /s/kubelet rw shared:5 - ext4 /dev/vda rw",
        "31 30 0:50 / /s/kubelet/pods/a/volumes/x rw - tmpfs tmpfs rw",
        "32 22 0:51 / /s/containerd/state/with\\040space/rootfs rw - overlay overlay rw",
        "33 22 0:52 / /s2/not-ours rw - tmpfs tmpfs rw",
    ]
    mountinfo.write_text("\n".join(lines) + "\n")
    real_path = Path

    def fake_path(arg: str) -> Path:
        return mountinfo if arg == "/proc/self/mountinfo" else real_path(arg)

    monkeypatch.setattr(network, "Path", fake_path)
    assert network.mounts_under(real_path("/s")) == [
        "/s/kubelet/pods/a/volumes/x",
        "/s/containerd/state/with space/rootfs",
        "/s/kubelet",
    ]


def test_sysctls_are_raised_recorded_and_restored(tmp_path: Path) -> None:
    root = tmp_path / "sys"
    values = {
        "net/ipv4/ip_forward": "0",
        "fs/inotify/max_user_instances": "128",
        "fs/inotify/max_user_watches": "1000000",  # already above what the seed needs
        network.BRIDGE_NF_CALL_IPTABLES: "1",
    }
    for key, value in values.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_text(f"{value}\n")
    raised = network.ensure_sysctls(root=root)
    assert {k: (c.before, c.set) for k, c in raised.items()} == {
        "net/ipv4/ip_forward": ("0", "1"),
        "fs/inotify/max_user_instances": ("128", "512"),
    }
    assert (root / "net/ipv4/ip_forward").read_text() == "1\n"
    (root / "fs/inotify/max_user_instances").write_text("1024\n")  # someone else's now
    restored, left = network.restore_sysctls(raised, root=root)
    assert restored == {"net/ipv4/ip_forward": "0"}
    assert list(left) == ["fs/inotify/max_user_instances"]
    assert (root / "net/ipv4/ip_forward").read_text() == "0\n"
    assert (root / "fs/inotify/max_user_instances").read_text() == "1024\n"
    assert (root / "fs/inotify/max_user_watches").read_text() == "1000000\n"


def test_sysctls_need_br_netfilter(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="br_netfilter"):
        network.ensure_sysctls(root=tmp_path)
