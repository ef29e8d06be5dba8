"""The seed's home directory: used (and ever purged) only if the seed created it.

``up`` creates the home and writes a marker file into it. Every later command
refuses a directory without that marker, so ``GARDEN_SEED_HOME=/var/lib`` (or any
directory of someone else's) can never be filled, let alone deleted by ``--purge``.
A home from before the marker existed is adopted once, and only when it holds
nothing but the seed's own layout and its containerd configuration names the
seed's socket in it.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from enum import Enum
from pathlib import Path

from airflow_provider_garden.localseed.errors import SeedError

MARKER = ".garden-localseed"
# Everything an older seed could have put at the top of its home.
KNOWN_ENTRIES = frozenset(
    {
        "admin.kubeconfig",
        "apiserver",
        "cni",
        "config",
        "containerd",
        "etcd",
        "kubeconfigs",
        "kubectl-cache",
        "kubelet",
        "local-volumes",
        "logs",
        "pki",
        "pod-logs",
        "run",
        "runc",
        "volume-plugins",
    }
)
# What must be there for a directory to be taken for an older seed's home.
REQUIRED_ENTRIES = ("pki", "run", "containerd/config.toml")


class HomeState(Enum):
    MISSING = "missing"  # the seed may create it
    OURS = "ours"  # has the marker
    LEGACY = "legacy"  # an older seed's home: adopt it once
    FOREIGN = "foreign"  # anything else: refuse


def classify(
    *,
    exists: bool,
    is_dir: bool,
    entries: set[str],
    marker: bool,
    containerd_config: str | None,
    home: Path,
) -> HomeState:
    """Pure: what a home path is, from what is found there."""
    if not exists:
        return HomeState.MISSING
    if not is_dir:
        return HomeState.FOREIGN
    if marker:
        return HomeState.OURS
    socket = f'address = "{home}/containerd/containerd.sock"'
    if (
        entries
        and entries <= KNOWN_ENTRIES
        and containerd_config is not None
        and socket in containerd_config
    ):
        return HomeState.LEGACY
    return HomeState.FOREIGN


def inspect(home: Path) -> HomeState:
    is_dir = home.is_dir() and not home.is_symlink()
    entries = {p.name for p in home.iterdir()} if is_dir else set()
    config = home / "containerd" / "config.toml"
    complete = all((home / e).exists() for e in REQUIRED_ENTRIES)
    return classify(
        exists=home.exists() or home.is_symlink(),
        is_dir=is_dir,
        entries=entries,
        marker=is_dir and (home / MARKER).is_file(),
        containerd_config=config.read_text() if is_dir and complete else None,
        home=home,
    )


def _refusal(home: Path) -> SeedError:
    return SeedError(
        f"refusing to use {home} as the local seed's home: GARDEN_SEED_HOME must be a directory "
        f"the seed created (it holds the marker file {MARKER}) or a path that does not exist yet; "
        "the seed only ever writes to and deletes its own home. Point GARDEN_SEED_HOME at a new "
        "path (e.g. /var/lib/garden-localseed)"
    )


def _write_marker(home: Path, *, adopted: bool) -> None:
    record = {
        "created_by": "airflow-provider-garden local seed",
        "home": str(home),
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "adopted": adopted,
    }
    (home / MARKER).write_text(json.dumps(record, indent=2) + "\n")


def ensure_home(home: Path) -> None:
    """Create the home (``up``), or accept it: ours, or an older seed's adopted now."""
    state = inspect(home)
    if state is HomeState.FOREIGN:
        raise _refusal(home)
    if state is HomeState.MISSING:
        home.mkdir(parents=True, mode=0o755)  # pods of any user reach local volumes inside
        _write_marker(home, adopted=False)
    elif state is HomeState.LEGACY:
        _adopt(home)


def refuse_foreign(home: Path) -> None:
    """For read-only commands: raise when ``home`` is not (and cannot become) the seed's."""
    if inspect(home) is HomeState.FOREIGN:
        raise _refusal(home)


def require_home(home: Path) -> bool:
    """For commands that change or delete state: True when the home exists and is ours."""
    state = inspect(home)
    if state is HomeState.FOREIGN:
        raise _refusal(home)
    if state is HomeState.LEGACY:
        _adopt(home)
    return state is not HomeState.MISSING


def _adopt(home: Path) -> None:
    _write_marker(home, adopted=True)
    print(
        f"==> [local-seed] adopting {home}: a seed home from before home markers (only the "
        f"seed's layout, its containerd socket inside); wrote {home / MARKER}",
        file=sys.stderr,
        flush=True,
    )
