"""Checks on a kustomize source before anything builds or ships it.

A source is a directory tree (from the DAG bundle or a git checkout) and an
overlay inside it. The tree must be small (it travels to the pod in a ConfigMap),
hold only regular files and directories, and no symlink may lead out of it. The
kustomizations reachable from the overlay are read to refuse what the apply
semantics forbid by default (REQUIREMENTS: remote kustomize bases off by default):

- remote bases (``resources``/``bases``/``components`` entries that are URLs), which
  fetch code at build time from somewhere nobody reviewed;
- exec and KRM function plugins (``generators``/``transformers``/``validators`` that
  are not kustomize builtins), which run programs while building;
- absolute paths and paths that climb out of the source tree.

Every problem is reported at once, each naming the file and entry.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import yaml

from .spec_fields import FieldError, SpecError

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
SKIPPED_DIRS = frozenset({".git"})
FUNCTION_ANNOTATION = "config.kubernetes.io/function"
_REMOTE_PREFIXES = ("http://", "https://", "git::", "git@", "ssh://", "file://", "s3::", "gh:")
# kustomize also reads host paths without a scheme: github.com/org/repo//dir?ref=v1
_HOST_PATH = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/")
_GIT_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,254}")
_GIT_URL_PREFIXES = ("https://", "ssh://", "git@", "file://")
# Fields of a kustomization whose entries name other kustomizations or manifests.
_REFERENCE_FIELDS = ("resources", "bases", "components")
_PLUGIN_FIELDS = ("generators", "transformers", "validators")


@dataclass(frozen=True, kw_only=True)
class SourceLimits:
    """How much a source may hold; past a limit the check fails naming it."""

    max_files: int = 1000
    max_bytes: int = 4 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class SourcePolicy:
    allow_remote_bases: bool = False
    allow_exec_plugins: bool = False


@dataclass(frozen=True, kw_only=True)
class SourceFile:
    """A regular file of the tree (a symlink inside the tree counts as its target)."""

    relpath: str
    path: Path
    size: int


@dataclass(frozen=True, kw_only=True)
class SourceTree:
    root: Path
    files: tuple[SourceFile, ...]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def looks_remote(entry: str) -> bool:
    """Whether a kustomization entry names something kustomize would download."""
    return entry.startswith(_REMOTE_PREFIXES) or "://" in entry or bool(_HOST_PATH.match(entry))


def scan_tree(root: Path, limits: SourceLimits) -> SourceTree:
    """List the tree's files; raise SpecError for links out, odd files and limits."""
    problems: list[FieldError] = []
    root = root.resolve()
    if not root.is_dir():
        raise SpecError(f"kustomize source {root}", [FieldError(str(root), "is not a directory")])
    files: list[SourceFile] = []
    for path in _walk(root, problems):
        rel = path.relative_to(root).as_posix()
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            target = path.resolve()
            if not target.is_relative_to(root):
                problems.append(FieldError(rel, "symlink points outside the source tree"))
                continue
            if not target.is_file():
                problems.append(FieldError(rel, "symlink must point to a regular file in the tree"))
                continue
            info = target.stat()
        elif not stat.S_ISREG(info.st_mode):
            problems.append(FieldError(rel, "only regular files and directories are allowed"))
            continue
        files.append(SourceFile(relpath=rel, path=path, size=info.st_size))
    tree = SourceTree(root=root, files=tuple(files))
    if len(files) > limits.max_files:
        problems.append(
            FieldError(str(root), f"holds {len(files)} files; the limit is {limits.max_files}")
        )
    if tree.total_bytes > limits.max_bytes:
        problems.append(
            FieldError(
                str(root),
                f"holds {tree.total_bytes} bytes; the limit is {limits.max_bytes} "
                f"(largest: {_largest(files)})",
            )
        )
    if problems:
        raise SpecError(f"kustomize source {root}", problems)
    return tree


def _walk(root: Path, problems: list[FieldError]) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        for d in sorted(dirnames):
            if (here / d).is_symlink():
                rel = (here / d).relative_to(root).as_posix()
                problems.append(FieldError(rel, "directory symlinks are not allowed"))
        dirnames[:] = sorted(
            d for d in dirnames if d not in SKIPPED_DIRS and not (here / d).is_symlink()
        )
        for f in sorted(filenames):
            yield here / f


def _largest(files: list[SourceFile]) -> str:
    top = sorted(files, key=lambda f: f.size, reverse=True)[:3]
    return ", ".join(f"{f.relpath} ({f.size} bytes)" for f in top)


def check_relative(path: str, what: str) -> list[FieldError]:
    """A path inside the source: relative, and never climbing above its start."""
    p = PurePosixPath(path)
    if p.is_absolute() or path.startswith("~"):
        return [FieldError(what, f"{path!r} must be a relative path")]
    if ".." in p.parts:
        return [FieldError(what, f"{path!r} must not contain '..'")]
    return []


def check_git_source(url: str, ref: str, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if not url.startswith(_GIT_URL_PREFIXES) or any(c.isspace() for c in url):
        errors.append(
            FieldError("git_url", f"{url!r} must start with one of {', '.join(_GIT_URL_PREFIXES)}")
        )
    elif _has_credentials(url):
        # the URL is a templated field and shows in logs and the UI: no tokens in it
        errors.append(FieldError("git_url", "must not carry credentials (user:token@)"))
    if not _GIT_REF.fullmatch(ref) or ".." in ref or ref.endswith(("/", ".lock")):
        errors.append(FieldError("git_ref", f"{ref!r} is not a branch, tag or commit name"))
    errors.extend(check_relative(path, "git_path"))
    return errors


def _has_credentials(url: str) -> bool:
    userinfo = urlsplit(url).netloc.rpartition("@")[0] if "://" in url else ""
    return bool(userinfo) and (url.startswith("https://") or ":" in userinfo)


def find_kustomization(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        if (directory / name).is_file():
            return directory / name
    return None


def check_overlay(root: Path, overlay: str, policy: SourcePolicy) -> list[str]:
    """Check the kustomizations reachable from ``overlay``; return their paths.

    Raises SpecError listing every forbidden or broken entry.
    """
    root = root.resolve()
    problems = check_relative(overlay, "overlay")
    if problems:
        raise SpecError(f"kustomize source {root}", problems)
    start = (root / overlay).resolve()
    if find_kustomization(start) is None:
        raise SpecError(
            f"kustomize source {root}",
            [FieldError("overlay", f"{overlay!r} has no {' or '.join(KUSTOMIZATION_FILES)}")],
        )
    checker = _Checker(root, policy)
    checker.visit(start)
    if checker.problems:
        raise SpecError(f"kustomize source {root}", checker.problems)
    return sorted(checker.seen)


class _Checker:
    def __init__(self, root: Path, policy: SourcePolicy) -> None:
        self.root = root
        self.policy = policy
        self.problems: list[FieldError] = []
        self.seen: set[str] = set()

    def fail(self, where: str, rule: str) -> None:
        self.problems.append(FieldError(where, rule))

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix() or "."

    def visit(self, directory: Path, *, plugins: bool = False) -> None:
        """Check one kustomization; with ``plugins``, its resources are plugin configs."""
        file = find_kustomization(directory)
        if file is None:
            self.fail(self.rel(directory), "directory has no kustomization file")
            return
        name = self.rel(file)
        if name in self.seen:
            return
        self.seen.add(name)
        try:
            doc = yaml.safe_load(file.read_text())
        except (yaml.YAMLError, UnicodeDecodeError) as err:
            self.fail(name, f"is not valid YAML ({type(err).__name__})")
            return
        if not isinstance(doc, Mapping):
            self.fail(name, "must be a YAML mapping")
            return
        if doc.get("helmCharts") or doc.get("helmChartInflationGenerator"):
            self.fail(f"{name}: helmCharts", "helm charts are not supported (they download charts)")
        for field in _REFERENCE_FIELDS:
            for i, entry in enumerate(_entries(doc, field)):
                self.reference(directory, f"{name}: {field}[{i}]", entry, plugins=plugins)
        for field in _PLUGIN_FIELDS:
            for i, entry in enumerate(_entries(doc, field)):
                self.plugin(directory, f"{name}: {field}[{i}]", entry)
        for where, path in _file_paths(doc):
            self.local_path(directory, f"{name}: {where}", path)

    def inside(self, directory: Path, where: str, entry: str) -> Path | None:
        """Resolve a local entry; None (with a problem) when it leaves the tree."""
        if PurePosixPath(entry).is_absolute() or entry.startswith("~"):
            self.fail(where, f"{entry!r}: absolute paths are not allowed")
            return None
        target = (directory / entry).resolve()
        if not target.is_relative_to(self.root):
            self.fail(where, f"{entry!r} points outside the source tree")
            return None
        return target

    def reference(self, directory: Path, where: str, entry: object, *, plugins: bool) -> None:
        if not isinstance(entry, str):
            self.fail(where, "must be a string")
            return
        local = directory / entry
        if not PurePosixPath(entry).is_absolute() and local.exists():
            target = self.inside(directory, where, entry)
            if target is not None and target.is_dir():
                self.visit(target, plugins=plugins)
            elif target is not None and plugins:
                self.plugin_configs(where, target.read_text())
        elif looks_remote(entry):
            if not self.policy.allow_remote_bases:
                self.fail(where, f"{entry!r} is a remote base; remote bases are off")
        elif self.inside(directory, where, entry) is not None:
            self.fail(where, f"{entry!r} does not exist")

    def plugin(self, directory: Path, where: str, entry: object) -> None:
        if not isinstance(entry, str):
            self.fail(where, "must be a string")
            return
        if "\n" in entry or entry.lstrip().startswith(("apiVersion:", "kind:")):
            self.plugin_configs(where, entry)
            return
        target = self.inside(directory, where, entry)
        if target is None:
            return
        if target.is_dir():
            self.visit(target, plugins=True)  # a kustomization whose output is plugin configs
        elif target.is_file():
            self.plugin_configs(where, target.read_text())
        else:
            self.fail(where, f"{entry!r} does not exist")

    def plugin_configs(self, where: str, text: str) -> None:
        try:
            docs = [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError:
            self.fail(where, "plugin configuration is not valid YAML")
            return
        for doc in docs:
            if not isinstance(doc, Mapping):
                self.fail(where, "plugin configuration must be a YAML mapping")
                continue
            rule = plugin_rule(doc, self.policy)
            if rule:
                self.fail(where, rule)

    def local_path(self, directory: Path, where: str, entry: str) -> None:
        self.inside(directory, where, entry)


def plugin_rule(config: Mapping[str, object], policy: SourcePolicy) -> str | None:
    """Why a generator/transformer config may not run, or None when it may."""
    kind = config.get("kind")
    meta = config.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, Mapping) else None
    function = annotations.get(FUNCTION_ANNOTATION) if isinstance(annotations, Mapping) else None
    if isinstance(function, str) and "container:" in function:
        return f"{kind}: container KRM functions cannot run (no container runtime in the pod)"
    if config.get("apiVersion") == "builtin" and function is None:
        return None
    if policy.allow_exec_plugins:
        return None
    what = "an exec KRM function" if function is not None else "a non-builtin plugin"
    return f"{kind} is {what}; exec plugins are off"


def _entries(doc: Mapping[str, object], field: str) -> list[object]:
    value = doc.get(field)
    return list(value) if isinstance(value, list) else []


def _file_paths(doc: Mapping[str, object]) -> Iterator[tuple[str, str]]:
    """Every entry of a kustomization that names a local file."""
    for field in ("crds", "configurations", "patchesStrategicMerge"):
        for i, entry in enumerate(_entries(doc, field)):
            if isinstance(entry, str) and "\n" not in entry:
                yield f"{field}[{i}]", entry
    for field in ("patches", "patchesJson6902", "replacements"):
        for i, entry in enumerate(_entries(doc, field)):
            if isinstance(entry, Mapping) and isinstance(entry.get("path"), str):
                yield f"{field}[{i}].path", str(entry["path"])
    openapi = doc.get("openapi")
    if isinstance(openapi, Mapping) and isinstance(openapi.get("path"), str):
        yield "openapi.path", str(openapi["path"])
    for field in ("configMapGenerator", "secretGenerator"):
        for i, gen in enumerate(_entries(doc, field)):
            if not isinstance(gen, Mapping):
                continue
            sources = [*_strings(gen.get("files")), *_strings(gen.get("envs"))]
            sources += _strings(gen.get("env"))
            for entry in sources:
                # files entries may be "key=path"
                yield f"{field}[{i}]", entry.split("=", 1)[-1]


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []
