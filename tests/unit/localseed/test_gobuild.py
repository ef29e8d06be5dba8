from __future__ import annotations

import io
from pathlib import Path

import pytest

from airflow_provider_garden.localseed import gobuild
from airflow_provider_garden.localseed.errors import SeedError
from airflow_provider_garden.localseed.gobuild import (
    GoBuildSpec,
    GoTool,
    _CompiledPackages,
    go_version_tuple,
    is_local_path,
    kube_version_x,
    ldflags,
    older_patches,
    parse_gomod,
    pick_served,
    render_gomod,
    render_tools_go,
)
from airflow_provider_garden.localseed.progress import step

KUBERNETES_GOMOD = """\
// This is a generated file. Do not edit directly.

module k8s.io/kubernetes

go 1.23.0

godebug default=go1.23

godebug winsymlink=0

require (
\tk8s.io/api v0.0.0
\tgithub.com/google/cadvisor v0.51.0 // indirect
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/endpointslice => ./staging/src/k8s.io/endpointslice // staging
)

replace github.com/example/fork v1.0.0 => github.com/example/fork v1.0.1
"""


def test_parse_gomod_reads_go_godebug_and_both_replace_forms() -> None:
    mod = parse_gomod(KUBERNETES_GOMOD)
    assert mod.go == "1.23.0"
    assert mod.godebug == ("default=go1.23", "winsymlink=0")
    assert mod.replaces == {
        "k8s.io/api": "./staging/src/k8s.io/api",
        "k8s.io/endpointslice": "./staging/src/k8s.io/endpointslice",
        "github.com/example/fork v1.0.0": "github.com/example/fork v1.0.1",
    }


def test_parse_gomod_godebug_block() -> None:
    mod = parse_gomod("module m\n\ngo 1.24\n\ngodebug (\n\tdefault=go1.21\n\tpanicnil=1\n)\n")
    assert mod.godebug == ("default=go1.21", "panicnil=1")
    assert mod.replaces == {}


@pytest.mark.parametrize(
    ("target", "local"),
    [
        ("./staging/src/k8s.io/api", True),
        ("../x", True),
        ("/abs", True),
        ("k8s.io/api v0.32.1", False),
    ],
)
def test_is_local_path(target: str, local: bool) -> None:
    assert is_local_path(target) is local


def test_older_patches_newest_first_down_to_zero() -> None:
    assert older_patches("v0.32.2") == ["v0.32.2", "v0.32.1", "v0.32.0"]


def test_older_patches_rejects_prereleases() -> None:
    with pytest.raises(ValueError, match=r"vMAJOR\.MINOR\.PATCH"):
        older_patches("v0.33.0-rc.1")


def test_pick_served_keeps_the_wanted_version_when_served() -> None:
    asked: list[tuple[str, str]] = []

    def served(module: str, version: str) -> bool:
        asked.append((module, version))
        return True

    assert pick_served("k8s.io/api", "v0.32.13", served) == "v0.32.13"
    assert asked == [("k8s.io/api", "v0.32.13")]


def test_pick_served_falls_back_to_the_nearest_older_served_patch() -> None:
    not_served = {("k8s.io/endpointslice", "v0.32.13"), ("k8s.io/endpointslice", "v0.32.12")}

    def served(module: str, version: str) -> bool:
        return (module, version) not in not_served

    assert pick_served("k8s.io/endpointslice", "v0.32.13", served) == "v0.32.11"


def test_pick_served_fails_when_no_patch_is_served() -> None:
    with pytest.raises(SeedError, match=r"serves no k8s.io/kms at v0.32.1 or an older patch"):
        pick_served("k8s.io/kms", "v0.32.1", lambda _m, _v: False)


def test_render_gomod_requires_upstream_and_sorts_replaces() -> None:
    text = render_gomod(
        name="kubernetes-v1.32.13",
        upstream=parse_gomod(KUBERNETES_GOMOD),
        module="k8s.io/kubernetes",
        version="v1.32.13",
        replaces={
            "k8s.io/endpointslice": "k8s.io/endpointslice v0.32.12",
            "k8s.io/api": "k8s.io/api v0.32.13",
        },
    )
    assert text == (
        "module garden.local/build/kubernetes-v1.32.13\n\n"
        "go 1.23.0\n\n"
        "godebug default=go1.23\n"
        "godebug winsymlink=0\n\n"
        "require k8s.io/kubernetes v1.32.13\n\n"
        "replace (\n"
        "\tk8s.io/api => k8s.io/api v0.32.13\n"
        "\tk8s.io/endpointslice => k8s.io/endpointslice v0.32.12\n"
        ")\n"
    )
    # What we render, we parse back: the build module is an ordinary go.mod.
    assert parse_gomod(text).replaces["k8s.io/api"] == "k8s.io/api v0.32.13"


def test_render_gomod_without_replaces_has_no_replace_block() -> None:
    text = render_gomod(
        name="crictl-v1.34.0",
        upstream=parse_gomod("module sigs.k8s.io/cri-tools\n\ngo 1.24.1\n"),
        module="sigs.k8s.io/cri-tools",
        version="v1.34.0",
        replaces={},
    )
    assert "replace" not in text
    assert "require sigs.k8s.io/cri-tools v1.34.0\n" in text


def test_render_tools_go_imports_each_main_package_behind_the_tools_tag() -> None:
    text = render_tools_go(["k8s.io/kubernetes/cmd/kubelet", "k8s.io/kubernetes/cmd/kubectl"])
    assert text.startswith("//go:build tools\n\npackage tools\n")
    assert '\t_ "k8s.io/kubernetes/cmd/kubelet"\n' in text
    assert '\t_ "k8s.io/kubernetes/cmd/kubectl"\n' in text


def test_kube_version_x_stamps_every_version_package() -> None:
    flags = kube_version_x("v1.32.13", "2026-02-27T00:14:55Z", ["a/version", "b/version"])
    assert "-X a/version.gitVersion=v1.32.13" in flags
    assert "-X b/version.gitMajor=1" in flags
    assert "-X b/version.gitMinor=32" in flags
    assert "-X a/version.gitTreeState=clean" in flags
    assert "-X a/version.buildDate=2026-02-27T00:14:55Z" in flags
    assert len(flags) == 10


def test_kube_version_x_without_a_release_time_omits_build_date() -> None:
    assert not any("buildDate" in f for f in kube_version_x("v1.32.11", None, ["v"]))


def test_ldflags_strip_and_add_extra_variables() -> None:
    spec = GoBuildSpec(
        name="local-path-provisioner-v0.0.30",
        module="github.com/rancher/local-path-provisioner",
        version="v0.0.30",
        packages=("github.com/rancher/local-path-provisioner",),
        extra_x=(("main.VERSION", "v0.0.30"),),
    )
    assert ldflags(spec, "2024-01-01T00:00:00Z") == "-s -w -X main.VERSION=v0.0.30"
    assert spec.binary_names() == ("local-path-provisioner",)


def test_spec_key_changes_with_any_input() -> None:
    spec = GoBuildSpec(name="x", module="m", version="v1.0.0", packages=("m/cmd/x",))
    assert spec.key() == GoBuildSpec(**{**spec.__dict__}).key()
    assert spec.key() != GoBuildSpec(**{**spec.__dict__, "version": "v1.0.1"}).key()
    assert spec.key() != GoBuildSpec(**{**spec.__dict__, "staging_version": "v0.1.0"}).key()


def _fake_go(directory: Path, version: str) -> Path:
    go = directory / "go"
    go.write_text(f"#!/bin/sh\necho {version}\n")
    go.chmod(0o755)
    return go


@pytest.fixture
def no_default_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the `go` a test puts on PATH is found (this machine may have /usr/local/go)."""
    monkeypatch.setattr(gobuild, "DEFAULT_GO", tmp_path / "no-default-go")
    monkeypatch.setattr(gobuild, "PREREQS_GO", tmp_path / "no-prereqs-go")


@pytest.mark.usefixtures("no_default_go")
def test_find_go_rejects_a_too_old_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = _fake_go(tmp_path, "go1.25.9")
    monkeypatch.setattr("shutil.which", lambda _: str(old))
    with pytest.raises(
        SeedError,
        match=rf"{old} is go1\.25\.9: run hack/prereqs\.sh, which installs Go >= 1\.26\.0",
    ):
        GoTool.find()


@pytest.mark.usefixtures("no_default_go")
def test_find_go_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda _: None)
    with pytest.raises(SeedError, match=r"Go is not installed: run hack/prereqs\.sh"):
        GoTool.find()


@pytest.mark.usefixtures("no_default_go")
def test_find_go_accepts_a_recent_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    go = _fake_go(tmp_path, "go1.26.8")
    monkeypatch.setattr("shutil.which", lambda _: str(go))
    assert GoTool.find().go == go


def test_find_go_passes_over_an_old_go_on_path_to_the_prereqs_toolchain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Debian's backported go (1.23) stays on PATH; hack/prereqs.sh links the fetched one."""
    (tmp_path / "debian").mkdir()
    (tmp_path / "toolchain").mkdir()
    debian = _fake_go(tmp_path / "debian", "go1.23.1")
    fetched = _fake_go(tmp_path / "toolchain", "go1.26.0")
    monkeypatch.setattr("shutil.which", lambda _: str(debian))
    monkeypatch.setattr(gobuild, "DEFAULT_GO", tmp_path / "no-default-go")
    monkeypatch.setattr(gobuild, "PREREQS_GO", fetched)
    assert GoTool.find().go == fetched


@pytest.mark.parametrize(
    ("reported", "parsed"),
    [("go1.26.0", (1, 26, 0)), ("go1.26", (1, 26, 0)), ("go1.27rc1", (1, 27, 0)), ("", None)],
)
def test_go_version_tuple(reported: str, parsed: tuple[int, int, int] | None) -> None:
    assert go_version_tuple(reported) == parsed


def test_build_progress_counts_compiled_packages_not_errors() -> None:
    seen = _CompiledPackages()
    lines = [
        "k8s.io/api/core/v1",
        "# k8s.io/kubernetes/cmd/kubectl",
        "cmd/kubectl/kubectl.go:12:2: undefined: x",
        "k8s.io/kubectl/pkg/cmd",
        "",
    ]
    assert [seen.see(line) for line in lines] == [
        "1 packages compiled, last k8s.io/api/core/v1",
        None,
        None,
        "2 packages compiled, last k8s.io/kubectl/pkg/cmd",
        None,
    ]


def test_go_build_failure_shows_the_compiler_errors_not_the_package_list(tmp_path: Path) -> None:
    go = tmp_path / "go"
    go.write_text(
        "#!/bin/sh\necho k8s.io/api/core/v1 >&2\necho 'x.go:1:1: syntax error' >&2\nexit 1\n"
    )
    go.chmod(0o755)
    with step("build", stream=io.StringIO()) as current, pytest.raises(SeedError) as err:
        GoTool(go).build(["./..."], cwd=tmp_path, current=current)
    assert str(err.value) == "`go build ./...` failed:\nx.go:1:1: syntax error"
    assert current.detail == "1 packages compiled, last k8s.io/api/core/v1"
