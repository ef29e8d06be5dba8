"""Get a kustomize source onto local disk, check it, and render it with kubectl.

Three ways in: a directory (a shell run), the tar.gz the operator shipped in a
ConfigMap, or a git repository at a ref. Whatever the way, the same checks of
`core.kustomize_source` run on the tree before kubectl sees it, so a git
checkout cannot smuggle in what a shipped directory could not.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from airflow_provider_garden.agent.tools import kubectl
from airflow_provider_garden.core.kustomize_pack import unpack
from airflow_provider_garden.core.kustomize_source import (
    SourceLimits,
    SourcePolicy,
    check_git_source,
    check_overlay,
    scan_tree,
)
from airflow_provider_garden.core.spec_fields import SpecError

log = logging.getLogger(__name__)
_COMMIT = re.compile(r"[0-9a-f]{40}")
GIT_TIMEOUT = 300
BUILD_TIMEOUT = 300


class BuildError(RuntimeError):
    """kubectl kustomize failed or rendered something that is not a manifest."""


@dataclass(frozen=True, kw_only=True)
class Source:
    """Exactly one of ``directory``, ``archive`` or ``git_url`` (with ``git_ref``)."""

    directory: Path | None = None
    archive: Path | None = None
    git_url: str | None = None
    git_ref: str = ""
    git_path: str = "."

    def describe(self) -> str:
        if self.git_url:
            return f"git {self.git_url}@{self.git_ref}:{self.git_path}"
        return "shipped archive" if self.archive else f"directory {self.directory}"


def materialise(source: Source, workdir: Path, limits: SourceLimits) -> Path:
    """The checked source root on local disk."""
    if source.directory is not None:
        root = source.directory
    elif source.archive is not None:
        root = workdir / "source"
        root.mkdir()
        count = unpack(source.archive.read_bytes(), root, limits)
        log.info("unpacked %d files from the shipped source", count)
    elif source.git_url:
        problems = check_git_source(source.git_url, source.git_ref, source.git_path)
        if problems:
            raise SpecError("git source", problems)
        root = _clone(source.git_url, source.git_ref, workdir / "repo") / source.git_path
    else:
        raise ValueError("a source needs a directory, an archive or a git URL")
    tree = scan_tree(root, limits)
    log.info("source %s: %d files, %d bytes", source.describe(), len(tree.files), tree.total_bytes)
    return tree.root


def _git(*args: str, cwd: Path | None = None) -> None:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    out = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=GIT_TIMEOUT, env=env
    )
    if out.returncode != 0:
        raise BuildError(f"git {args[0]} failed: {out.stderr.strip()[-500:]}")


def _clone(url: str, ref: str, dest: Path) -> Path:
    """A shallow checkout of one branch, tag or full commit id."""
    if _COMMIT.fullmatch(ref):
        # --branch takes names only; a commit is fetched by id (servers allow it for
        # reachable commits, as GitHub and GitLab do)
        dest.mkdir()
        _git("init", "--quiet", cwd=dest)
        _git("fetch", "--quiet", "--depth", "1", "--", url, ref, cwd=dest)
        _git("checkout", "--quiet", "FETCH_HEAD", cwd=dest)
    else:
        _git("clone", "--quiet", "--depth", "1", "--branch", ref, "--", url, str(dest))
    log.info("checked out %s at %s", url, ref)
    return dest


def build(root: Path, overlay: str, policy: SourcePolicy) -> list[dict[str, Any]]:
    """Check the overlay's kustomizations, then render them with ``kubectl kustomize``."""
    kustomizations = check_overlay(root, overlay, policy)
    log.info("kustomizations checked: %s", ", ".join(kustomizations))
    argv = [kubectl(), "kustomize", str(root / overlay)]
    if policy.allow_exec_plugins:
        argv += ["--enable-alpha-plugins", "--enable-exec"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    if out.returncode != 0:
        raise BuildError(f"kubectl kustomize {overlay} failed: {out.stderr.strip()[-800:]}")
    objs = [d for d in yaml.safe_load_all(out.stdout) if d is not None]
    for i, obj in enumerate(objs):
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        if not (isinstance(meta, dict) and meta.get("name") and obj.get("kind")):
            raise BuildError(f"rendered document {i} is not a named Kubernetes object")
    return objs
