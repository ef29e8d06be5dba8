"""Kustomize apply of a 200-object overlay: `garden-agent kustomize` beside plain kubectl.

Ours: `garden-agent kustomize apply|diff` run from the host (the same code the
operator pod runs): checks, render, dry-run of every object, apply of what
changes, inventory. Baseline: `kubectl apply --server-side -k` (and `kubectl diff
--server-side -k`) of the same overlay on the same cluster. Each sample starts in a
fresh namespace; neither side waits for rollout health, so the rows compare the
apply itself.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from airflow_provider_garden.agent.tools import KUBECTL_ENV
from benchmarks.seed_kubectl import kubectl as seed_kubectl
from benchmarks.table import Table, fmt_samples

RUNS = int(os.environ.get("BENCH_KUSTOMIZE_RUNS", "3"))
CONFIGMAPS = 195
DEPLOYMENTS = 5
AGENT = str(Path(sys.executable).with_name("garden-agent"))


def _kubeconfig() -> str:
    configured = os.environ.get("GARDEN_KUBECONFIG")
    if configured:
        return configured
    from airflow_provider_garden.localseed.seed import LocalSeed

    return str(LocalSeed().up())


def _overlay(root: Path) -> None:
    """A base of 195 ConfigMaps and 5 Deployments, and an overlay with a label and prefix."""
    base = root / "base"
    base.mkdir(parents=True)
    names = []
    for i in range(CONFIGMAPS):
        names.append(f"cm-{i:03d}.yaml")
        (base / names[-1]).write_text(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings-{i:03d}}}\n"
            f"data: {{index: '{i}', text: '{'x' * 200}'}}\n"
        )
    for i in range(DEPLOYMENTS):
        names.append(f"deploy-{i}.yaml")
        (base / names[-1]).write_text(
            f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: web-{i}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{web: "{i}"}}}}
  template:
    metadata: {{labels: {{web: "{i}"}}}}
    spec:
      containers:
      - {{name: c, image: registry.k8s.io/pause:3.10, imagePullPolicy: IfNotPresent}}
"""
        )
    (base / "kustomization.yaml").write_text("resources:\n" + "".join(f"- {n}\n" for n in names))
    overlay = root / "overlays" / "bench"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text(
        "namePrefix: bench-\ncommonLabels: {bench: kustomize}\nresources: [../../base]\n"
    )


def _run(argv: list[str]) -> float:
    start = time.monotonic()
    # the agent's `kubectl kustomize` is the baseline's kubectl, the seed's own build
    env = {**os.environ, KUBECTL_ENV: seed_kubectl()}
    out = subprocess.run(argv, capture_output=True, text=True, timeout=900, env=env)
    took = time.monotonic() - start
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:6])} failed: {out.stderr[-1500:]}")
    return took


class _Bench:
    def __init__(self, kubeconfig: str, root: Path) -> None:
        self.kubeconfig = kubeconfig
        self.root = root
        self.kubectl = [seed_kubectl(), "--kubeconfig", kubeconfig]

    def namespace(self) -> str:
        name = f"bench-kz-{uuid.uuid4().hex[:6]}"
        _run([*self.kubectl, "create", "namespace", name])
        return name

    def cleanup(self, namespace: str) -> None:
        _run([*self.kubectl, "delete", "namespace", namespace, "--wait=false"])
        subprocess.run(
            [
                *self.kubectl,
                "-n",
                "kube-system",
                "delete",
                "configmap",
                "--ignore-not-found",
                f"garden-inventory-{namespace}",
            ],
            capture_output=True,
            check=False,
        )

    def agent(self, mode: str, namespace: str) -> float:
        return _run(
            [
                AGENT,
                "--kubeconfig",
                self.kubeconfig,
                "kustomize",
                mode,
                "--source-dir",
                str(self.root),
                "--overlay",
                "overlays/bench",
                "--inventory-id",
                namespace,
                "--default-namespace",
                namespace,
                "--wait-timeout",
                "0",
            ]
        )

    def kubectl_k(self, verb: str, namespace: str) -> float:
        return _run(
            [
                *self.kubectl,
                "-n",
                namespace,
                verb,
                "--server-side",
                "--field-manager=bench",
                "-k",
                str(self.root / "overlays" / "bench"),
            ]
        )

    def sample(self, ours: bool) -> tuple[float, float, float]:
        """(first apply, unchanged re-apply, unchanged diff) in a fresh namespace."""
        ns = self.namespace()
        try:
            if ours:
                return (self.agent("apply", ns), self.agent("apply", ns), self.agent("diff", ns))
            return (
                self.kubectl_k("apply", ns),
                self.kubectl_k("apply", ns),
                self.kubectl_k("diff", ns),
            )
        finally:
            self.cleanup(ns)


def run() -> list[Table]:
    kubeconfig = _kubeconfig()
    with tempfile.TemporaryDirectory(prefix="bench-kustomize-") as tmp:
        root = Path(tmp)
        _overlay(root)
        bench = _Bench(kubeconfig, root)
        bench.sample(ours=True)  # warm caches (kubectl discovery, page cache) for both sides
        ours = [bench.sample(ours=True) for _ in range(RUNS)]
        base = [bench.sample(ours=False) for _ in range(RUNS)]
    table = Table(
        title=f"kustomize apply of {CONFIGMAPS + DEPLOYMENTS} objects "
        f"({CONFIGMAPS} ConfigMaps, {DEPLOYMENTS} Deployments), median of {RUNS}",
        unit="s",
    )
    rows = ("first apply (creates all)", "re-apply, nothing changed", "diff, nothing changed")
    for i, row in enumerate(rows):
        o = statistics.median(s[i] for s in ours)
        b = statistics.median(s[i] for s in base)
        table.add(f"{row}: garden-agent vs kubectl --server-side -k", o, b)
        table.notes.append(
            f"{row}: ours {fmt_samples([s[i] for s in ours])} s; "
            f"kubectl {fmt_samples([s[i] for s in base])} s"
        )
    return [table]
