"""KustomizeApplyOperator: input checks and the pod it describes (no cluster needed)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from airflow_provider_garden.core.spec_fields import SpecError
from airflow_provider_garden.operators.kustomize import KustomizeApplyOperator

ARTICLE = Path(__file__).parents[2] / "integration" / "kustomize" / "someapp"


def op(**kwargs: object) -> KustomizeApplyOperator:
    kwargs.setdefault("inventory_id", "addons")
    return KustomizeApplyOperator(task_id="apply", **kwargs)  # type: ignore[arg-type]


def problems(task: KustomizeApplyOperator) -> list[str]:
    with pytest.raises(SpecError) as err:
        task.validate_inputs()
    return [str(e) for e in err.value.errors]


def test_seed_target_ships_the_source_in_a_configmap() -> None:
    task = op(source_path=str(ARTICLE), overlay="overlays/production", prune=True)
    assert task.namespace == "garden-system"
    assert task.service_account_name == "garden-kustomize"
    assert task.arguments[:4] == ["--garden-namespace", "garden-system", "kustomize", "apply"]
    assert "--prune" in task.arguments
    assert task.arguments[task.arguments.index("--source-archive") + 1] == (
        "/var/run/garden/source/source.tar.gz"
    )
    assert task.arguments[task.arguments.index("--inventory-namespace") + 1] == "garden-system"
    [volume] = [v for v in task.volumes if v.config_map is not None]
    assert volume.config_map.name == "garden-kustomize-src-{{ ti.id }}"
    task.validate_inputs()  # the article's example packs fine


def test_shoot_target_runs_beside_its_kubeconfig_without_a_seed_token() -> None:
    task = op(git_url="https://example.com/addons.git", git_ref="v1", target="team-a/dev")
    assert task.namespace == "garden-team-a"
    assert task.service_account_name == "default"
    assert task.automount_service_account_token is False
    [secret] = [v for v in task.volumes if v.secret is not None]
    assert secret.secret.secret_name == "dev.kubeconfig"
    assert "--kubeconfig-file" in task.arguments
    assert task.arguments[task.arguments.index("--inventory-namespace") + 1] == "kube-system"
    assert not [v for v in task.volumes if v.config_map is not None]


def test_shoot_pod_cannot_be_moved_away_from_its_secret() -> None:
    with pytest.raises(ValueError, match="must run in garden-team-a"):
        op(git_url="https://x/y.git", git_ref="main", target="team-a/dev", namespace="other")


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "source_path: set exactly one of source_path and git_url"),
        (
            {"source_path": "x", "git_url": "https://x/y.git", "git_ref": "m"},
            "source_path: set exactly one of source_path and git_url",
        ),
        ({"git_url": "https://x/y.git", "git_ref": "-x"}, "git_ref: '-x' is not a branch"),
        ({"git_url": "https://tok@x/y.git", "git_ref": "m"}, "git_url: must not carry credentials"),
        ({"git_url": "https://x/y.git", "git_ref": "m", "overlay": "../x"}, "overlay: '../x'"),
        ({"git_url": "https://x/y.git", "git_ref": "m", "mode": "destroy"}, "mode: 'destroy'"),
        (
            {"git_url": "https://x/y.git", "git_ref": "m", "prune_allow_kinds": ["Secret"]},
            "prune_allow_kinds: 'Secret' is not protected",
        ),
        (
            {"git_url": "https://x/y.git", "git_ref": "m", "recreate_on_immutable": ["jobs"]},
            "recreate_on_immutable: 'jobs' is not a kind",
        ),
        ({"git_url": "https://x/y.git", "git_ref": "m", "wait_timeout": -1}, "wait_timeout"),
        (
            {"git_url": "https://x/y.git", "git_ref": "m", "inventory_id": "Bad_Id"},
            "inventory_id: inventory id 'Bad_Id' must be",
        ),
        (
            {"git_url": "https://x/y.git", "git_ref": "m", "target": "Team/dev"},
            "target: 'Team/dev' must be seed or project/name",
        ),
    ],
)
def test_bad_inputs_name_field_and_rule(kwargs: dict[str, object], expected: str) -> None:
    assert any(expected in p for p in problems(op(**kwargs))), problems(op(**kwargs))


def test_remote_bases_in_a_shipped_source_are_refused(tmp_path: Path) -> None:
    root = Path(shutil.copytree(ARTICLE, tmp_path / "someapp"))
    k = root / "overlays/production/kustomization.yaml"
    k.write_text(k.read_text().replace("- ../../base\n", "- ../../base\n- github.com/a/b\n"))
    [problem] = problems(op(source_path=str(root), overlay="overlays/production"))
    assert "'github.com/a/b' is a remote base; remote bases are off" in problem


def test_oversized_source_fails_naming_the_limit(tmp_path: Path) -> None:
    root = Path(shutil.copytree(ARTICLE, tmp_path / "someapp"))
    (root / "base" / "blob.bin").write_bytes(os.urandom(1024 * 1024))
    [problem] = problems(op(source_path=str(root), overlay="overlays/production"))
    assert "packs to" in problem
    assert "the limit is 921600" in problem
