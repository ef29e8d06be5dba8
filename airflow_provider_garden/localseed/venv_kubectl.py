"""Put the seed's own kubectl on a venv's PATH (hack/prereqs.sh runs this).

    python3 -m airflow_provider_garden.localseed.venv_kubectl VENV

Tests, benchmarks and the agent run on the host call the kubectl in the venv's
bin directory, so they use the same kubectl as the seed and its toolbox image
(the pinned Kubernetes release) and never one the machine happens to have.
Stdlib only: the machine's Python runs it before pip has installed anything.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from airflow_provider_garden.localseed.build import ensure_kubectl
from airflow_provider_garden.localseed.errors import SeedError
from airflow_provider_garden.localseed.paths import SeedPaths


def link_kubectl(venv: Path, kubectl: Path) -> Path:
    """`VENV/bin/kubectl` -> `kubectl`, replaced atomically (a rerun after a version
    bump points it at the new build)."""
    bin_dir = venv / "bin"
    if not bin_dir.is_dir():
        raise SeedError(f"{venv} is not a venv (no bin/): create it with `python3 -m venv {venv}`")
    link = bin_dir / "kubectl"
    partial = bin_dir / ".kubectl.partial"
    partial.unlink(missing_ok=True)
    partial.symlink_to(kubectl)
    os.replace(partial, link)
    return link


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(
            "usage: python3 -m airflow_provider_garden.localseed.venv_kubectl VENV", file=sys.stderr
        )
        return 2
    try:
        link = link_kubectl(Path(args[0]), ensure_kubectl(SeedPaths.default()))
    except SeedError as err:
        print(f"prereqs: {err}", file=sys.stderr)
        return 1
    version = subprocess.run(
        [str(link), "version", "--client"], capture_output=True, text=True, check=False
    )
    if version.returncode != 0:
        print(f"prereqs: {link} does not run: {version.stderr.strip()}", file=sys.stderr)
        return 1
    client = version.stdout.strip().splitlines()[0]
    print(f"==> [prereqs] kubectl: {link} -> {link.resolve()} ({client})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
