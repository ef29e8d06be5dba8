"""Helpers of the kustomize tests: the agent verb run from the host, kubectl."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seed_kubectl import kubectl as seed_kubectl

from airflow_provider_garden.agent.tools import KUBECTL_ENV

ARTICLE = Path(__file__).with_name("someapp")
AGENT = str(Path(sys.executable).with_name("garden-agent"))


@dataclass
class AgentRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def result(self) -> dict[str, Any]:
        assert self.returncode == 0, self.stderr[-3000:]
        parsed: dict[str, Any] = json.loads(self.stdout)
        return parsed


@dataclass
class Agent:
    """``garden-agent kustomize`` against the seed, with this test's inventory."""

    kubeconfig: Path
    namespace: str

    def __call__(self, mode: str, *args: str, source: Path | None = None) -> AgentRun:
        argv = [AGENT, "--kubeconfig", str(self.kubeconfig), "kustomize", mode]
        if source is not None:
            argv += ["--source-dir", str(source)]
        argv += ["--inventory-id", self.namespace, "--default-namespace", self.namespace]
        argv += ["--wait-timeout", "120", *args]
        env = {k: v for k, v in os.environ.items() if k != "KUBERNETES_SERVICE_HOST"}
        env[KUBECTL_ENV] = seed_kubectl()  # the agent's `kubectl kustomize`, as in its image
        out = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env)
        return AgentRun(out.returncode, out.stdout, out.stderr)

    def ok(self, mode: str, *args: str, source: Path | None = None) -> dict[str, Any]:
        """The result of a run that must succeed."""
        return self(mode, *args, source=source).result


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> str:
    out = subprocess.run(
        [seed_kubectl(), "--kubeconfig", str(kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return out.stdout
