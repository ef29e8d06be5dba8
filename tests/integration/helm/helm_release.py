"""A helm release on the seed, and helm commands against it."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    kubeconfig: Path
    helm: Path
    notes: str = ""

    def helm_cmd(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`helm <args> <release> -n <namespace>` against the seed."""
        argv = [str(self.helm), *args, self.name, "--namespace", self.namespace]
        argv += ["--kubeconfig", str(self.kubeconfig)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
