from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_garden.localseed.errors import SeedError
from airflow_provider_garden.localseed.packages import (
    apt_action,
    beside_docker_containerd,
    containerd_version,
    pick_debian_version,
    require_free_space,
    require_root,
)


@pytest.mark.parametrize(
    ("available", "expected"),
    [
        (["3.5.16-4", "3.5.16-3"], "3.5.16-4"),  # apt lists the newest first
        (["3.5.21-1", "3.5.16-4"], "3.5.16-4"),
        (["1:3.5.16-1"], "1:3.5.16-1"),  # an epoch does not hide the upstream version
        (["3.5.160-1", "3.4.23-1"], None),
        ([], None),
    ],
)
def test_pick_debian_version(available: list[str], expected: str | None) -> None:
    assert pick_debian_version(available, "3.5.16") == expected


def test_require_free_space_names_the_path_and_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match=r"needs 1000000 GiB free under .*/not/yet") as err:
        require_free_space(tmp_path / "not" / "yet", 1_000_000, "building x")
    assert "GARDEN_SEED_CACHE" in str(err.value)


def test_require_free_space_passes_when_there_is_room(tmp_path: Path) -> None:
    require_free_space(tmp_path, 0.001, "building x")


def test_require_root_says_how(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(SeedError, match=r"building images needs root: run it as root"):
        require_root("building images")


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+b1", (1, 6)),
        ("containerd containerd.io 1.7.25 bcc810d6b9066471b0b6fa75f557a15a1cbf31bb", (1, 7)),
        ("containerd containerd.io v2.0.4 1a43cb6a1035441f9aca8f5666a9b3ef9e70ab20", (2, 0)),
        ("nothing", None),
    ],
)
def test_containerd_version_is_read_from_its_banner(
    text: str, version: tuple[int, int] | None
) -> None:
    assert containerd_version(text) == version


def test_dockers_containerd_serves_the_seed_when_compatible() -> None:
    missing = ["containerd", "runc", "conntrack"]
    assert beside_docker_containerd(missing, "containerd containerd.io 1.7.25 abc") == ["conntrack"]


@pytest.mark.parametrize(
    "text", ["containerd containerd.io v2.0.4 1a43cb6", "containerd containerd.io 1.5.9 x", None]
)
def test_incompatible_dockers_containerd_stops_before_apt(text: str | None) -> None:
    with pytest.raises(SeedError) as err:
        beside_docker_containerd(["containerd", "iptables"], text)
    message = str(err.value)
    assert "Docker's containerd.io package is installed" in message
    assert "would make apt remove containerd.io" in message
    assert (text or "no containerd binary on PATH") in message


def test_apt_progress_is_the_package_being_fetched_unpacked_or_set_up() -> None:
    assert apt_action("Unpacking make (4.3-4.1) ...") == "Unpacking make (4.3-4.1) ..."
    assert apt_action("Setting up podman (4.3.1+ds1-8+deb12u1) ...") is not None
    assert apt_action("Reading package lists...") is None
