"""Where the local seed keeps its builds (a cache) and its running state.

Builds go to a per-user cache outside the work tree so a fresh clone on the same
machine reuses them; running state goes under one prefix so `down` can find and
remove everything the seed created.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SeedPaths:
    cache: Path  # Go builds, downloaded packages, image archives
    state: Path  # etcd data, containerd root, kubelet root, PKI, PID files, logs

    @classmethod
    def default(cls) -> SeedPaths:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        cache = os.environ.get("GARDEN_SEED_CACHE") or str(Path(xdg) / "airflow-provider-garden")
        state = os.environ.get("GARDEN_SEED_HOME") or "/var/lib/garden-localseed"
        return cls(cache=Path(cache), state=Path(state))

    # --- cache -------------------------------------------------------------
    @property
    def bin(self) -> Path:
        return self.cache / "bin"

    @property
    def images(self) -> Path:
        return self.cache / "images"

    @property
    def gobuild(self) -> Path:
        return self.cache / "gobuild"

    # --- state -------------------------------------------------------------
    @property
    def run(self) -> Path:
        return self.state / "run"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def pki(self) -> Path:
        return self.state / "pki"

    @property
    def kubeconfig(self) -> Path:
        return self.state / "admin.kubeconfig"
