"""The local seed: cold and warm build, `up`, first pod, memory at rest.

Cold build: the seed's Kubernetes binaries built into an empty Go build cache
(module downloads are kept: they measure the network, not the build), beside the
same build with that cache warm. Set BENCH_SKIP_COLD_BUILD=1 to skip it (~10 min).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.localseed import build
from airflow_provider_garden.localseed.gobuild import GoTool, ensure_go_build
from airflow_provider_garden.localseed.seed import LocalSeed
from benchmarks.memory import seed_memory
from benchmarks.table import Table

MiB = 2**20


def _build_seconds(out: Path) -> float:
    spec = build.SEED_KUBERNETES
    start = time.monotonic()
    ensure_go_build(spec, go=GoTool.find(), work_root=out / "gobuild", bin_root=out / "bin")
    return time.monotonic() - start


def _builds() -> Table:
    table = Table(
        title="Local seed: Go build of kube-apiserver, controller-manager, scheduler, kubelet, kube-proxy, kubectl",
        unit="s",
    )
    work = Path(tempfile.mkdtemp(prefix="bench-gobuild-"))
    saved = os.environ.get("GOCACHE")
    os.environ["GOCACHE"] = str(work / "gocache")
    try:
        cold = _build_seconds(work / "cold")
        warm = _build_seconds(work / "warm")
    finally:
        if saved is None:
            os.environ.pop("GOCACHE", None)
        else:
            os.environ["GOCACHE"] = saved
        shutil.rmtree(work, ignore_errors=True)
    table.add("cold build (empty GOCACHE) vs warm rebuild", cold, warm)
    return table


def _first_pod(kube: KubeClient) -> float:
    name, ns = f"bench-{uuid.uuid4().hex[:6]}", "default"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "containers": [{"name": "p", "image": build.PAUSE_REF, "imagePullPolicy": "Never"}]
        },
    }
    start = time.monotonic()
    kube.create(pod)
    kube.wait_for(
        "pod Running",
        lambda: (kube.get("v1", "Pod", name, ns).get("status") or {}).get("phase") == "Running",
        timeout=120,
        interval=0.1,
    )
    took = time.monotonic() - start
    kube.delete("v1", "Pod", name, ns)
    return took


def run() -> list[Table]:
    tables = [] if os.environ.get("BENCH_SKIP_COLD_BUILD") else [_builds()]
    seed = LocalSeed()
    seed.up()
    up = Table(title="Local seed: up", unit="s")
    start = time.monotonic()
    seed.up()
    healthy_up = time.monotonic() - start
    seed.down()
    start = time.monotonic()
    kubeconfig = seed.up()
    restart = time.monotonic() - start
    kube = KubeClient.from_kubeconfig(str(kubeconfig))
    first_pod = _first_pod(kube)
    up.add("warm up after down (daemons start, add-ons ready)", restart)
    up.add("up on a healthy seed (no-op)", healthy_up)
    up.add("up returned -> first pod Running", first_pod)
    memory = Table(
        title="Local seed: memory at rest (daemons: RSS from /proc; pods: their cgroup)",
        unit="MiB",
    )
    for name, used in sorted(seed_memory(seed).items()):
        memory.add(name, used / MiB)
    return [*tables, up, memory]
