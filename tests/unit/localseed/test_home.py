"""GARDEN_SEED_HOME is used only if the seed created it (or an older seed's layout is adopted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_garden.localseed.errors import SeedError
from airflow_provider_garden.localseed.home import (
    MARKER,
    HomeState,
    ensure_home,
    inspect,
    refuse_foreign,
    require_home,
)


def _legacy_home(home: Path) -> Path:
    for sub in ("pki", "run", "etcd", "kubelet", "containerd"):
        (home / sub).mkdir(parents=True)
    (home / "containerd/config.toml").write_text(
        f'version = 2\n[grpc]\n  address = "{home}/containerd/containerd.sock"\n'
    )
    (home / "admin.kubeconfig").write_text("apiVersion: v1\n")
    return home


def test_a_missing_home_is_created_with_the_marker(tmp_path: Path) -> None:
    home = tmp_path / "a" / "seed"
    assert inspect(home) is HomeState.MISSING
    ensure_home(home)
    marker = json.loads((home / MARKER).read_text())
    assert marker["home"] == str(home)
    assert marker["adopted"] is False
    assert inspect(home) is HomeState.OURS
    ensure_home(home)  # again: accepted as is
    assert require_home(home)


@pytest.mark.parametrize("what", ["var-lib-like", "empty", "a-file", "symlink-to-foreign"])
def test_a_foreign_home_is_refused_naming_path_and_rule(tmp_path: Path, what: str) -> None:
    home = tmp_path / "home"
    if what == "var-lib-like":
        _legacy_home(home)
        (home / "dpkg").mkdir()  # anything the seed never makes: not its layout
    elif what == "empty":
        home.mkdir()
    elif what == "a-file":
        home.write_text("x")
    else:
        target = _legacy_home(tmp_path / "real")
        (target / MARKER).write_text("{}")
        home.symlink_to(target)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    for call in (ensure_home, require_home, refuse_foreign):
        with pytest.raises(SeedError) as err:
            call(home)
        assert f"refusing to use {home} as the local seed's home" in str(err.value)
        assert f"the marker file {MARKER}" in str(err.value)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written


def test_a_legacy_home_whose_containerd_socket_is_elsewhere_is_foreign(tmp_path: Path) -> None:
    home = _legacy_home(tmp_path / "home")
    (home / "containerd/config.toml").write_text('address = "/run/containerd/containerd.sock"\n')
    assert inspect(home) is HomeState.FOREIGN


def test_an_older_seeds_home_is_adopted_once_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = _legacy_home(tmp_path / "home")
    assert inspect(home) is HomeState.LEGACY
    assert require_home(home)
    assert json.loads((home / MARKER).read_text())["adopted"] is True
    assert f"adopting {home}" in capsys.readouterr().err
    assert require_home(home)
    assert "adopting" not in capsys.readouterr().err


def test_require_home_never_creates_a_missing_home(tmp_path: Path) -> None:
    assert not require_home(tmp_path / "nope")
    assert not (tmp_path / "nope").exists()
