"""Go builds of upstream components from the Go module proxy, cached.

Each component is built in a small generated module (a "build module") that
requires the upstream module at its pinned version and repeats its replace
directives, because Go ignores the replace directives of dependencies.
Kubernetes replaces its staging modules (k8s.io/api, ...) with local paths that
a dependent cannot see: the build module points them at their published
releases instead. GOMODCACHE and GOCACHE stay at Go's defaults, so every clone
on the machine shares them and a rebuild only compiles what changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from airflow_provider_garden.localseed import versions
from airflow_provider_garden.localseed.errors import SeedError
from airflow_provider_garden.localseed.packages import require_free_space
from airflow_provider_garden.localseed.progress import Step, run_reporting, step

DEFAULT_GO = Path("/usr/local/go/bin/go")  # where go.dev's tarball installs it
# Where hack/prereqs.sh links the toolchain it fetched when the machine's Go is older.
PREREQS_GO = Path("/usr/local/bin/go")
# A cold build fills GOCACHE (about 3 GiB for Kubernetes) and the module cache.
COLD_BUILD_GIB = 8
# Proxy answers that mean "this version is not offered here", as opposed to a
# network failure that must not silently select an older version.
_NOT_SERVED = ("403 Forbidden", "404 Not Found", "410 Gone", "not available", "unknown revision")
_STAMP = ".build-key"


@dataclass(frozen=True, kw_only=True)
class GoBuildSpec:
    name: str  # directory under the build and bin caches, e.g. "kubernetes-v1.32.13"
    module: str
    version: str
    packages: tuple[str, ...]  # main packages; each binary is named after the last element
    # Published version of modules the upstream go.mod replaces with local paths
    # (Kubernetes' staging modules); each falls back to the nearest older patch served.
    staging_version: str | None = None
    # Packages whose Kubernetes-style git* variables report `version`.
    kube_version_packages: tuple[str, ...] = ()
    extra_x: tuple[tuple[str, str], ...] = ()  # further -X variable=value pairs

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()

    def binary_names(self) -> tuple[str, ...]:
        return tuple(p.rsplit("/", 1)[-1] for p in self.packages)


@dataclass(frozen=True, kw_only=True)
class GoModFile:
    go: str
    godebug: tuple[str, ...]
    replaces: dict[str, str]  # left side ("mod" or "mod version") -> right side


def parse_gomod(text: str) -> GoModFile:
    go, godebug, replaces = "", [], {}
    block: str | None = None
    for raw in text.splitlines():
        line = raw.split("//", 1)[0].strip()
        if not line:
            continue
        if block is not None:
            if line == ")":
                block = None
            elif block == "replace":
                left, right = (s.strip() for s in line.split("=>", 1))
                replaces[left] = right
            elif block == "godebug":
                godebug.append(line)
            continue
        verb, _, rest = line.partition(" ")
        rest = rest.strip()
        if rest == "(":
            block = verb
        elif verb == "go":
            go = rest
        elif verb == "godebug":
            godebug.append(rest)
        elif verb == "replace":
            left, right = (s.strip() for s in rest.split("=>", 1))
            replaces[left] = right
    return GoModFile(go=go, godebug=tuple(godebug), replaces=replaces)


def is_local_path(target: str) -> bool:
    return target.startswith(("./", "../", "/"))


def older_patches(version: str) -> list[str]:
    """`version` and every older patch of its minor release, newest first."""
    match = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)", version)
    if match is None:
        raise ValueError(f"not a plain vMAJOR.MINOR.PATCH version: {version}")
    major, minor, patch = (int(g) for g in match.groups())
    return [f"v{major}.{minor}.{p}" for p in range(patch, -1, -1)]


def pick_served(module: str, version: str, is_served: Callable[[str, str], bool]) -> str:
    for candidate in older_patches(version):
        if is_served(module, candidate):
            return candidate
    raise SeedError(f"the Go module proxy serves no {module} at {version} or an older patch")


def render_gomod(
    *, name: str, upstream: GoModFile, module: str, version: str, replaces: Mapping[str, str]
) -> str:
    lines = [f"module garden.local/build/{name}", "", f"go {upstream.go}", ""]
    lines += [f"godebug {d}" for d in upstream.godebug]
    lines += ["", f"require {module} {version}", ""]
    if replaces:
        lines.append("replace (")
        lines += [f"\t{left} => {right}" for left, right in sorted(replaces.items())]
        lines.append(")")
    return "\n".join(lines) + "\n"


def render_tools_go(packages: Iterable[str]) -> str:
    imports = "\n".join(f'\t_ "{p}"' for p in packages)
    return f"//go:build tools\n\npackage tools\n\nimport (\n{imports}\n)\n"


def kube_version_x(version: str, build_date: str | None, packages: Iterable[str]) -> list[str]:
    """The -X flags that make a Kubernetes binary report `version` (as upstream's
    hack/lib/version.sh does); the git commit is unknown to a proxy build and is
    left empty rather than invented."""
    major, minor = version.lstrip("v").split(".")[:2]
    values = {"gitVersion": version, "gitMajor": major, "gitMinor": minor}
    values["gitTreeState"] = "clean"
    if build_date:
        values["buildDate"] = build_date
    return [f"-X {pkg}.{var}={val}" for pkg in packages for var, val in values.items()]


def ldflags(spec: GoBuildSpec, build_date: str | None) -> str:
    flags = ["-s", "-w"]
    flags += kube_version_x(spec.version, build_date, spec.kube_version_packages)
    flags += [f"-X {var}={val}" for var, val in spec.extra_x]
    return " ".join(flags)


def go_version_tuple(reported: str) -> tuple[int, int, int] | None:
    """(1, 26, 0) from "go1.26.0" / "go1.26" / "go1.26rc1"; None when not a Go version."""
    match = re.match(r"go(\d+)\.(\d+)(?:\.(\d+))?", reported)
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3] or 0)


def _go_candidates() -> list[Path]:
    """`go` on PATH first, then where go.dev's tarball and hack/prereqs.sh put one."""
    found = shutil.which("go")
    ordered = [Path(found)] if found else []
    return ordered + [p for p in (DEFAULT_GO, PREREQS_GO) if p not in ordered]


class GoTool:
    """The `go` command with the environment every seed build uses."""

    def __init__(self, go: Path) -> None:
        self.go = go
        self.env = {
            **os.environ,
            "GOTOOLCHAIN": "local",  # hack/prereqs.sh fetched the toolchain; never switch here
            "CGO_ENABLED": "0",  # static binaries that run in any image
            "GOFLAGS": "-buildvcs=false",
        }

    @classmethod
    def find(cls) -> GoTool:
        """The first Go at least `versions.GO`; a SeedError naming what was found else."""
        install = f"run hack/prereqs.sh, which installs Go >= {versions.GO}"
        minimum = go_version_tuple(f"go{versions.GO}")
        if minimum is None:
            raise SeedError(f"GO in localseed/versions.py is not a Go version: {versions.GO!r}")
        seen = []
        for go in _go_candidates():
            if not go.exists():
                continue
            tool = cls(go)
            try:
                reported = tool.run(["env", "GOVERSION"]).strip()
            except SeedError:
                reported = ""
            found = go_version_tuple(reported)
            if found is not None and found >= minimum:
                return tool
            seen.append(f"{go} is {reported or 'unusable'}")
        if not seen:
            raise SeedError(f"Go is not installed: {install}")
        raise SeedError(f"{'; '.join(seen)}: {install}")

    def run(self, args: list[str], *, cwd: Path | None = None) -> str:
        out = subprocess.run(
            [str(self.go), *args], cwd=cwd, env=self.env, capture_output=True, text=True
        )
        if out.returncode != 0:
            raise SeedError(_failure(args, out.stderr))
        return out.stdout

    def build(self, args: list[str], *, cwd: Path, current: Step) -> None:
        """`go build -v ARGS`, keeping `current.detail` at the packages compiled so far."""
        counter = _CompiledPackages()
        out = run_reporting(
            [str(self.go), "build", "-v", *args],
            current,
            describe=counter.see,
            cwd=cwd,
            env=self.env,
        )
        if out.returncode != 0:
            failure = "\n".join(
                line for line in out.stdout.splitlines() if not counter.is_package(line)
            )
            raise SeedError(_failure(["build", *args], failure))

    def download(self, modules: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
        """`go mod download -json` of each module@version; failures carry "Error"."""
        args = [f"{m}@{v}" for m, v in modules]
        out = subprocess.run(
            [str(self.go), "mod", "download", "-json", *args],
            env=self.env,
            capture_output=True,
            text=True,
            cwd=Path("/"),
        )
        decoder, text, found = json.JSONDecoder(), out.stdout, []
        pos = 0
        while (start := text.find("{", pos)) != -1:
            obj, pos = decoder.raw_decode(text, start)
            found.append(obj)
        if out.returncode != 0 and not found:
            raise SeedError(f"`go mod download` failed:\n{out.stderr.strip()}")
        return found


def _failure(args: list[str], stderr: str) -> str:
    tail = "\n".join(stderr.strip().splitlines()[-25:])
    hint = " (disk full: free space or run `go clean -cache`)" if "no space" in tail else ""
    return f"`go {' '.join(args)}` failed{hint}:\n{tail}"


class _CompiledPackages:
    """Reads `go build -v` output: each package it compiles is one import path alone
    on a line; anything else (compiler errors, `# pkg` headers) is not progress."""

    def __init__(self) -> None:
        self.count = 0

    @staticmethod
    def is_package(line: str) -> bool:
        return bool(line) and not line.startswith("#") and not any(c in line for c in " :\t")

    def see(self, line: str) -> str | None:
        if not self.is_package(line):
            return None
        self.count += 1
        return f"{self.count} packages compiled, last {line}"


def _require_downloaded(info: dict[str, Any]) -> dict[str, Any]:
    if "Error" in info:
        raise SeedError(
            f"{info['Path']}@{info['Version']} cannot be downloaded: {info['Error']}\n"
            "pick a version the module proxy serves in localseed/versions.py"
        )
    return info


class _ServedProbe:
    """Answers "does the proxy serve module@version" from one batched download,
    downloading single versions only for the fallbacks."""

    def __init__(self, go: GoTool, prefetch: Iterable[tuple[str, str]]) -> None:
        self.go = go
        self.answers: dict[tuple[str, str], bool] = {}
        self._record(go.download(prefetch))

    def _record(self, infos: list[dict[str, Any]]) -> None:
        for info in infos:
            error = info.get("Error")
            if error and not any(marker in error for marker in _NOT_SERVED):
                raise SeedError(f"cannot reach the Go module proxy: {error}")
            self.answers[(info["Path"], info["Version"])] = not error

    def __call__(self, module: str, version: str) -> bool:
        if (module, version) not in self.answers:
            self._record(self.go.download([(module, version)]))
        return self.answers.get((module, version), False)


def binaries_of(spec: GoBuildSpec, bin_root: Path) -> dict[str, Path]:
    return {name: bin_root / spec.name / name for name in spec.binary_names()}


def is_built(spec: GoBuildSpec, bin_root: Path) -> bool:
    stamp = bin_root / spec.name / _STAMP
    return (
        stamp.exists()
        and stamp.read_text().strip() == spec.key()
        and all(p.exists() for p in binaries_of(spec, bin_root).values())
    )


def ensure_go_build(spec: GoBuildSpec, *, go: GoTool, work_root: Path, bin_root: Path) -> None:
    if is_built(spec, bin_root):
        return
    require_free_space(work_root, COLD_BUILD_GIB, f"building {spec.name}")
    work = work_root / spec.name
    with step(f"go: build module for {spec.name}"):
        upstream = _require_downloaded(go.download([(spec.module, spec.version)])[0])
        gomod = parse_gomod(Path(upstream["GoMod"]).read_text())
        replaces = _resolve_replaces(spec, gomod, go)
        work.mkdir(parents=True, exist_ok=True)
        (work / "go.mod").write_text(
            render_gomod(
                name=spec.name,
                upstream=gomod,
                module=spec.module,
                version=spec.version,
                replaces=replaces,
            )
        )
        (work / "go.sum").unlink(missing_ok=True)
        (work / "tools.go").write_text(render_tools_go(spec.packages))
        go.run(["mod", "tidy"], cwd=work)
    build_date = json.loads(Path(upstream["Info"]).read_text()).get("Time")
    partial = bin_root / f".{spec.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with step(f"go build {spec.name}: {' '.join(spec.binary_names())}") as current:
        args = ["-trimpath", "-ldflags", ldflags(spec, build_date)]
        go.build([*args, "-o", f"{partial}/", *spec.packages], cwd=work, current=current)
    final = bin_root / spec.name
    final.mkdir(parents=True, exist_ok=True)
    for name in spec.binary_names():
        os.replace(partial / name, final / name)
    partial.rmdir()
    (final / _STAMP).write_text(spec.key() + "\n")


def _resolve_replaces(spec: GoBuildSpec, gomod: GoModFile, go: GoTool) -> dict[str, str]:
    kept = {left: right for left, right in gomod.replaces.items() if not is_local_path(right)}
    local = sorted(left for left, right in gomod.replaces.items() if is_local_path(right))
    if not local:
        return kept
    if spec.staging_version is None:
        raise SeedError(
            f"{spec.module} replaces {', '.join(local)} with local paths: give the spec a "
            "staging_version to use their published releases"
        )
    served = _ServedProbe(go, [(m, spec.staging_version) for m in local])
    for module in local:
        kept[module] = f"{module} {pick_served(module, spec.staging_version, served)}"
    return kept
