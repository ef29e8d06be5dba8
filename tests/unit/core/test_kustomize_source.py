from __future__ import annotations

import os
from pathlib import Path

import pytest

from airflow_provider_garden.core.kustomize_source import (
    SourceLimits,
    SourcePolicy,
    check_git_source,
    check_overlay,
    looks_remote,
    plugin_rule,
    scan_tree,
)
from airflow_provider_garden.core.spec_fields import SpecError

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: the-deployment}
spec:
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec: {containers: [{name: c, image: registry.k8s.io/pause:3.10}]}
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def article(root: Path, production: str = "") -> Path:
    """The kustomize article's layout: a base and two overlays."""
    return write(
        root,
        {
            "base/kustomization.yaml": "commonLabels: {app: hello}\nnamePrefix: hello-\n"
            "resources: [deployment.yaml]\n",
            "base/deployment.yaml": DEPLOYMENT,
            "overlays/staging/kustomization.yaml": "resources: [../../base]\n",
            "overlays/production/kustomization.yaml": production
            or "resources: [../../base]\npatches: [{path: replica_count.yaml}]\n",
            "overlays/production/replica_count.yaml": "kind: Deployment\n",
        },
    )


def problems(err: pytest.ExceptionInfo[SpecError]) -> list[str]:
    return [str(e) for e in err.value.errors]


# --- the tree ------------------------------------------------------------------------


def test_scan_counts_files_and_skips_git(tmp_path: Path) -> None:
    article(tmp_path)
    write(tmp_path, {".git/HEAD": "ref: refs/heads/main\n"})
    tree = scan_tree(tmp_path, SourceLimits())
    assert sorted(f.relpath for f in tree.files) == [
        "base/deployment.yaml",
        "base/kustomization.yaml",
        "overlays/production/kustomization.yaml",
        "overlays/production/replica_count.yaml",
        "overlays/staging/kustomization.yaml",
    ]


@pytest.mark.parametrize(
    ("limits", "rule"),
    [
        (SourceLimits(max_files=4), "holds 5 files; the limit is 4"),
        (SourceLimits(max_bytes=100), "the limit is 100 (largest: base/deployment.yaml"),
    ],
)
def test_scan_limits_fail_naming_the_limit(tmp_path: Path, limits: SourceLimits, rule: str) -> None:
    article(tmp_path)
    with pytest.raises(SpecError) as err:
        scan_tree(tmp_path, limits)
    assert any(rule in p for p in problems(err))


def test_symlinks_inside_are_files_outside_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("secret: 1\n")
    root = article(tmp_path / "src")
    os.symlink(root / "base/deployment.yaml", root / "overlays/staging/copy.yaml")
    tree = scan_tree(root, SourceLimits())
    assert "overlays/staging/copy.yaml" in {f.relpath for f in tree.files}

    os.symlink(outside, root / "base/escape.yaml")
    os.symlink(tmp_path, root / "base/dirlink")
    with pytest.raises(SpecError) as err:
        scan_tree(root, SourceLimits())
    assert problems(err) == [
        "base/dirlink: directory symlinks are not allowed",
        "base/escape.yaml: symlink points outside the source tree",
    ]


def test_fifo_is_refused(tmp_path: Path) -> None:
    article(tmp_path)
    os.mkfifo(tmp_path / "base/pipe")
    with pytest.raises(SpecError) as err:
        scan_tree(tmp_path, SourceLimits())
    assert problems(err) == ["base/pipe: only regular files and directories are allowed"]


# --- kustomizations --------------------------------------------------------------------


def test_article_overlay_is_fine(tmp_path: Path) -> None:
    article(tmp_path)
    seen = check_overlay(tmp_path, "overlays/production", SourcePolicy())
    assert seen == ["base/kustomization.yaml", "overlays/production/kustomization.yaml"]


@pytest.mark.parametrize(
    ("production", "policy", "expected"),
    [
        (
            "resources: [../../base, 'https://github.com/org/repo//dir?ref=v1']\n",
            SourcePolicy(),
            "resources[1]: 'https://github.com/org/repo//dir?ref=v1' is a remote base; "
            "remote bases are off",
        ),
        (
            "bases: [github.com/org/repo/dir]\n",
            SourcePolicy(),
            "bases[0]: 'github.com/org/repo/dir' is a remote base; remote bases are off",
        ),
        (
            "components: ['git@github.com:org/repo.git']\n",
            SourcePolicy(),
            "components[0]: 'git@github.com:org/repo.git' is a remote base",
        ),
        ("resources: [/etc/kubernetes]\n", SourcePolicy(), "absolute paths are not allowed"),
        (
            "resources: [../../../elsewhere]\n",
            SourcePolicy(),
            "'../../../elsewhere' points outside the source tree",
        ),
        ("resources: [../../nothing]\n", SourcePolicy(), "'../../nothing' does not exist"),
        (
            "resources: [../../base]\nconfigMapGenerator: [{name: x, files: [k=/etc/passwd]}]\n",
            SourcePolicy(),
            "configMapGenerator[0]: '/etc/passwd': absolute paths are not allowed",
        ),
        (
            "resources: [../../base]\npatches: [{path: ../../../x.yaml}]\n",
            SourcePolicy(),
            "patches[0].path: '../../../x.yaml' points outside the source tree",
        ),
        (
            "resources: [../../base]\nhelmCharts: [{name: x, repo: https://charts}]\n",
            SourcePolicy(),
            "helmCharts: helm charts are not supported",
        ),
        (
            "resources: [../../base]\ngenerators:\n- |\n  apiVersion: example.com/v1\n"
            "  kind: Gen\n  metadata:\n    name: g\n    annotations:\n"
            "      config.kubernetes.io/function: 'exec: {path: ./gen}'\n",
            SourcePolicy(),
            "generators[0]: Gen is an exec KRM function; exec plugins are off",
        ),
    ],
)
def test_forbidden_entries_are_named(
    tmp_path: Path, production: str, policy: SourcePolicy, expected: str
) -> None:
    article(tmp_path, production)
    with pytest.raises(SpecError) as err:
        check_overlay(tmp_path, "overlays/production", policy)
    assert any(expected in p for p in problems(err)), problems(err)


def test_remote_base_passes_when_allowed(tmp_path: Path) -> None:
    article(tmp_path, "resources: [../../base, 'https://example.com/org/repo']\n")
    policy = SourcePolicy(allow_remote_bases=True)
    assert check_overlay(tmp_path, "overlays/production", policy)


def test_plugin_file_and_transformer_directory_are_read(tmp_path: Path) -> None:
    article(
        tmp_path,
        "resources: [../../base]\ntransformers: [labels.yaml, plugins]\n",
    )
    write(
        tmp_path,
        {
            "overlays/production/labels.yaml": "apiVersion: builtin\nkind: LabelTransformer\n"
            "metadata: {name: l}\nlabels: {a: b}\n",
            "overlays/production/plugins/kustomization.yaml": "resources: [p.yaml]\n",
            "overlays/production/plugins/p.yaml": "apiVersion: someteam.example.com/v1\n"
            "kind: ChartInflator\nmetadata: {name: c}\n",
        },
    )
    with pytest.raises(SpecError) as err:
        check_overlay(tmp_path, "overlays/production", SourcePolicy())
    # the builtin in labels.yaml passes; the directory's output is a plugin config
    assert problems(err) == [
        "overlays/production/plugins/kustomization.yaml: resources[0]: "
        "ChartInflator is a non-builtin plugin; exec plugins are off"
    ]


@pytest.mark.parametrize(
    ("config", "policy", "rule"),
    [
        ({"apiVersion": "builtin", "kind": "PatchTransformer"}, SourcePolicy(), None),
        (
            {"apiVersion": "example.com/v1", "kind": "Legacy"},
            SourcePolicy(),
            "Legacy is a non-builtin plugin; exec plugins are off",
        ),
        (
            {"apiVersion": "example.com/v1", "kind": "Legacy"},
            SourcePolicy(allow_exec_plugins=True),
            None,
        ),
        (
            {
                "apiVersion": "example.com/v1",
                "kind": "Fn",
                "metadata": {
                    "annotations": {"config.kubernetes.io/function": "container: {image: x}"}
                },
            },
            SourcePolicy(allow_exec_plugins=True),
            "Fn: container KRM functions cannot run (no container runtime in the pod)",
        ),
    ],
)
def test_plugin_rule(config: dict[str, object], policy: SourcePolicy, rule: str | None) -> None:
    assert plugin_rule(config, policy) == rule


@pytest.mark.parametrize(
    ("overlay", "rule"),
    [
        ("/abs", "overlay: '/abs' must be a relative path"),
        ("../up", "overlay: '../up' must not contain '..'"),
        ("base/deployment.yaml", "has no kustomization.yaml"),
    ],
)
def test_overlay_path(tmp_path: Path, overlay: str, rule: str) -> None:
    article(tmp_path)
    with pytest.raises(SpecError) as err:
        check_overlay(tmp_path, overlay, SourcePolicy())
    assert rule in problems(err)[0]


@pytest.mark.parametrize(
    ("entry", "remote"),
    [
        ("../base", False),
        ("deployment.yaml", False),
        ("https://github.com/org/repo", True),
        ("github.com/org/repo//x?ref=v1", True),
        ("git::https://example.com/r.git", True),
        ("git@github.com:org/r.git", True),
    ],
)
def test_looks_remote(entry: str, remote: bool) -> None:
    assert looks_remote(entry) is remote


@pytest.mark.parametrize(
    ("url", "ref", "path", "fields"),
    [
        ("https://example.com/r.git", "main", "deploy", []),
        ("git@example.com:org/r.git", "v1.2.3", ".", []),
        ("file:///srv/repo.git", "release/1.0", "a/b", []),
        ("ssh://git@example.com/r.git", "main", ".", []),
        ("http://example.com/r.git", "main", ".", ["git_url"]),
        ("https://ghp_token@example.com/r.git", "main", ".", ["git_url"]),
        ("ssh://git:pw@example.com/r.git", "main", ".", ["git_url"]),
        ("https://example.com/r.git", "--upload-pack=x", ".", ["git_ref"]),
        ("https://example.com/r.git", "a..b", ".", ["git_ref"]),
        ("https://example.com/r.git", "main", "../x", ["git_path"]),
        ("https://example.com/r.git", "main", "/x", ["git_path"]),
    ],
)
def test_git_source(url: str, ref: str, path: str, fields: list[str]) -> None:
    assert [e.path for e in check_git_source(url, ref, path)] == fields
