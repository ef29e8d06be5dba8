"""kubectl against the seed with its admin kubeconfig (localseed needs no Python client)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from airflow_provider_garden.localseed.errors import SeedError


@dataclass(frozen=True, kw_only=True)
class Kubectl:
    binary: Path
    kubeconfig: Path
    cache_dir: Path  # discovery cache; kubectl's default is ~/.kube/cache

    def run(self, *args: str, stdin: str | None = None, timeout: float = 120) -> str:
        """Run kubectl; raise SeedError with its stderr when it fails."""
        proc = self.try_run(*args, stdin=stdin, timeout=timeout)
        if proc.returncode != 0:
            raise SeedError(f"kubectl {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def try_run(
        self, *args: str, stdin: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        argv = [
            str(self.binary),
            f"--kubeconfig={self.kubeconfig}",
            f"--cache-dir={self.cache_dir}",
            *args,
        ]
        try:
            return subprocess.run(
                argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(argv, 124, "", f"timed out after {timeout:.0f}s")

    def apply(self, manifest: str) -> None:
        """Server-side apply under the seed's own field manager (it owns these objects)."""
        self.run(
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager=garden-local-seed",
            "-f",
            "-",
            stdin=manifest,
        )
