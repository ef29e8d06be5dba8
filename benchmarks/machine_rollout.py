"""Machine rollout of a large pool, beside its ideal schedule.

A shoot with a pool of BENCH_MACHINES (default 200) kwok machines booting in
BENCH_BOOT (default 2s), one pod of a Deployment per machine under a budget of
``maxUnavailable: 10%``, rolled to a new image with maxSurge BENCH_SURGE (default
10), maxUnavailable 0, by the same code the operator's pod runs (in this process,
at the agent's default polling interval).

Baseline: the ideal schedule ``ceil(N / surge) x (boot + drain)``, with the
configured boot delay and the mean drain of a wave as this run measured it: the
ratio is what creating, watching, cordoning and deleting cost beyond waiting for
machines to boot and pods to leave. API calls per machine are counted from
outside, by a counting proxy on loopback in front of each API server (shoot and
seed) that the rollout's clients are pointed at (benchmarks/api_count.py), beside
the writes a rollout cannot avoid (create, cordon, one eviction per pod, delete).
"""

from __future__ import annotations

import base64
import math
import os
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from airflow_provider_garden.agent.machine_rollout import MachineRollout, RolloutOptions
from airflow_provider_garden.agent.shoot_access import client_from_kubeconfig
from airflow_provider_garden.agent.shoot_delete import delete
from airflow_provider_garden.agent.shoot_reconcile import reconcile
from airflow_provider_garden.core import naming
from airflow_provider_garden.core.settings import DEFAULT_NAMESPACE
from airflow_provider_garden.core.shoot_resource import to_resource
from airflow_provider_garden.core.shoot_spec import MachineImage, Worker, new_spec
from airflow_provider_garden.drivers.local import BOOT_DELAY_ANNOTATION
from airflow_provider_garden.kube.bootstrap import install
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.kube.shoots import Shoots
from airflow_provider_garden.localseed.profile import MACHINE_IMAGES, local_profile
from airflow_provider_garden.localseed.seed import LocalSeed
from benchmarks.api_count import CountingProxy
from benchmarks.table import Table

MACHINES = int(os.environ.get("BENCH_MACHINES", "200"))
SURGE = int(os.environ.get("BENCH_SURGE", "10"))
BOOT = os.environ.get("BENCH_BOOT", "2s")
PROJECT, POOL = "bench", "pool-a"
OLD, NEW = MACHINE_IMAGES["gardenlinux"][:2]


def _shoot(kube: KubeClient, name: str) -> dict[str, Any]:
    pool = Worker(
        name=POOL,
        machine_type="local",
        image=MachineImage(name="gardenlinux", version=OLD),
        minimum=MACHINES,
        maximum=MACHINES + SURGE,
        max_surge=SURGE,
        max_unavailable=0,
    )
    spec = new_spec(PROJECT, name, local_profile().kubernetes_versions[0], workers=[pool])
    resource = to_resource(
        spec, api_version=SHOOT_API_VERSION, annotations={BOOT_DELAY_ANNOTATION: BOOT}
    )
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": naming.project_namespace(PROJECT)},
        }
    )
    shoots = Shoots(kube)
    shoots.apply(resource)
    reconcile(
        kube,
        shoots,
        PROJECT,
        name,
        holder="bench",
        garden_namespace=DEFAULT_NAMESPACE,
    )
    return resource


def _workload(shoot: KubeClient) -> None:
    labels = {"app": "web"}
    shoot.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "replicas": MACHINES,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [{"name": "web", "image": "registry.k8s.io/pause:3.10"}]
                    },
                },
            },
        }
    )
    shoot.apply(
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"maxUnavailable": "10%", "selector": {"matchLabels": labels}},
        }
    )

    def running() -> bool:
        pods = shoot.list("v1", "Pod", "default", label_selector="app=web")
        return sum((p.get("status") or {}).get("phase") == "Running" for p in pods) == MACHINES

    shoot.wait_for(f"{MACHINES} pods Running", running, timeout=600, interval=2)


def _set_version(kube: KubeClient, name: str, version: str) -> None:
    shoot = Shoots(kube).get(PROJECT, name)
    workers = shoot["spec"]["workers"]
    workers[0]["machine"]["image"]["version"] = version
    kube.merge_patch(
        SHOOT_API_VERSION,
        "Shoot",
        name,
        {"spec": {"workers": workers}},
        naming.project_namespace(PROJECT),
    )


def _verbs(counts: Counter[str]) -> str:
    return ", ".join(f"{verb} {n}" for verb, n in counts.most_common())


def run() -> list[Table]:
    kubeconfig = str(LocalSeed().up())
    kube = KubeClient.from_kubeconfig(kubeconfig)
    install(kube, namespace=DEFAULT_NAMESPACE, profile=local_profile())
    name = f"r{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    _shoot(kube, name)
    setup = time.monotonic() - started
    secret = kube.get(
        "v1", "Secret", naming.kubeconfig_secret(name), naming.project_namespace(PROJECT)
    )
    kubeconfig_text = base64.b64decode(secret["data"]["kubeconfig-external"])
    try:
        _workload(client_from_kubeconfig(kubeconfig_text))
        _set_version(kube, name, NEW)
        # The rollout's clients only go through the proxies: only its requests are counted.
        with (
            CountingProxy(Path(kubeconfig).read_text()) as seed_proxy,
            CountingProxy(kubeconfig_text) as shoot_proxy,
        ):
            result = MachineRollout(
                seed=client_from_kubeconfig(seed_proxy.kubeconfig_text()),
                shoot=client_from_kubeconfig(shoot_proxy.kubeconfig_text()),
                project=PROJECT,
                name=name,
                options=RolloutOptions(pool=POOL),
                holder="bench",
            ).run()
            seed_calls, shoot_calls = seed_proxy.counts, shoot_proxy.counts
    finally:
        delete(kube, Shoots(kube), PROJECT, name, holder="bench")

    waves = math.ceil(MACHINES / SURGE)
    boot = float(BOOT.removesuffix("s"))
    drain = result["drainSeconds"] / max(1, result["drains"])
    ideal = waves * (boot + drain)
    speed = Table(
        title=f"Rollout of a {MACHINES}-machine pool (maxSurge {SURGE}, maxUnavailable 0, "
        f"boot {BOOT}, one pod per machine)",
        unit="s",
    )
    speed.add("rollout wall time vs ideal ceil(N/surge) x (boot + drain)", result["seconds"], ideal)
    speed.add("mean wave: boot as observed vs configured", result["bootSecondsMean"], boot)
    speed.notes.append(
        f"{waves} waves; {result['drains']} drains, mean {drain:.2f} s each; "
        f"{result['evictions']} evictions ({result['evictionsRefused']} refused by the budget); "
        f"{result['steps']} planning steps. Pool of {MACHINES} created by shoot reconcile "
        f"(with the control plane) in {setup:.1f} s."
    )
    calls = Table(title="API calls per machine during the rollout", unit="calls")
    pods = result["evictions"] / MACHINES
    unavoidable = 3 + pods  # create, cordon, delete, and one eviction per pod
    shoot_total, seed_total = shoot_calls.total(), seed_calls.total()
    calls.add(
        "shoot + seed API calls vs unavoidable writes",
        (shoot_total + seed_total) / MACHINES,
        unavoidable,
    )
    calls.add("shoot API calls", shoot_total / MACHINES)
    calls.add("seed API calls (Shoot status, Lease)", seed_total / MACHINES)
    calls.notes.append(
        "Counted by proxies in front of the API servers, in the same run as the table above "
        "(the proxies add a loopback hop to each request). By verb: shoot "
        f"{_verbs(shoot_calls)}; seed {_verbs(seed_calls)}."
    )
    return [speed, calls]
