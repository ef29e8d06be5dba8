"""kubectl linked into a venv: a symlink to the seed's build, replaced on a rerun."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_garden.localseed.errors import SeedError
from airflow_provider_garden.localseed.venv_kubectl import link_kubectl


def test_link_points_at_the_seed_build_and_follows_a_version_bump(tmp_path: Path) -> None:
    (tmp_path / "venv/bin").mkdir(parents=True)
    old = tmp_path / "bin/kubernetes-v1.32.11/kubectl"
    new = tmp_path / "bin/kubernetes-v1.32.13/kubectl"
    for binary in (old, new):
        binary.parent.mkdir(parents=True)
        binary.touch()
    link = link_kubectl(tmp_path / "venv", old)
    assert link == tmp_path / "venv/bin/kubectl"
    assert link.readlink() == old
    link_kubectl(tmp_path / "venv", new)
    assert link.readlink() == new
    assert sorted(p.name for p in link.parent.iterdir()) == ["kubectl"]


def test_a_directory_without_bin_is_no_venv(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match=r"is not a venv \(no bin/\): create it with"):
        link_kubectl(tmp_path, tmp_path / "kubectl")
