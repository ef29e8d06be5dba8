"""Shoot care over a fleet of BENCH_CARE_SHOOTS (default 50): seconds per run, API calls.

What is real and what is not: ONE shoot has a full control plane (reconciled here);
the other N-1 are Shoot objects with a copy of its kubeconfig Secret and no control
plane of their own. Care makes the same calls for each of them (the seed's
control-plane workloads come from three fleet-wide lists, then one Secret read and
the shoot's /readyz, nodes, kube-system and webhooks per shoot, all against that one
real shoot API server), so calls per shoot are exact; the N-1 are judged
ControlPlaneHealthy False (their workloads are missing), which costs what a healthy
verdict costs.

Baseline, in the same run: the same care run one shoot at a time (parallelism 1).
Calls are counted by counting proxies in front of the seed and the shoot API server
(benchmarks/api_count.py) during the measured parallel run, after a first run that
set every status label (later runs patch a label only when it changes).
"""

from __future__ import annotations

import base64
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

from airflow_provider_garden.agent.care import SHOOT_BACKOFF, SHOOT_TIMEOUT, Options, care_fleet
from airflow_provider_garden.agent.shoot_access import client_from_kubeconfig
from airflow_provider_garden.agent.shoot_delete import delete
from airflow_provider_garden.agent.shoot_reconcile import reconcile
from airflow_provider_garden.core import care, naming
from airflow_provider_garden.core.settings import DEFAULT_NAMESPACE
from airflow_provider_garden.core.shoot_resource import to_resource
from airflow_provider_garden.core.shoot_spec import ShootSpec, new_spec
from airflow_provider_garden.kube.bootstrap import install
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.kube.shoots import Shoots
from airflow_provider_garden.localseed.profile import local_profile
from airflow_provider_garden.localseed.seed import LocalSeed
from benchmarks.api_count import CountingProxy
from benchmarks.table import Table

SHOOTS = int(os.environ.get("BENCH_CARE_SHOOTS", "50"))
PARALLELISM = int(os.environ.get("BENCH_CARE_PARALLELISM", "8"))
PROJECT, REAL = "bench-care", "real"


def _spec(name: str) -> ShootSpec:
    return new_spec(PROJECT, name, local_profile().kubernetes_versions[0])


def _resource(name: str) -> dict[str, Any]:
    return to_resource(_spec(name), api_version=SHOOT_API_VERSION)


def _fleet(kube: KubeClient) -> list[str]:
    """The real shoot, then N-1 Shoot objects with copies of its kubeconfig Secret."""
    namespace = naming.project_namespace(PROJECT)
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    shoots = Shoots(kube)
    shoots.apply(_resource(REAL))
    reconcile(
        kube,
        shoots,
        PROJECT,
        REAL,
        holder="bench",
        garden_namespace=DEFAULT_NAMESPACE,
    )
    secret = kube.get("v1", "Secret", naming.kubeconfig_secret(REAL), namespace)
    names = [REAL]
    for i in range(1, SHOOTS):
        name = f"s{i:03d}"
        shoots.apply(_resource(name))
        kube.apply(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": naming.kubeconfig_secret(name), "namespace": namespace},
                "data": secret["data"],
            }
        )
        names.append(name)
    return names


def _verbs(counts: Counter[str]) -> str:
    return ", ".join(f"{verb} {n}" for verb, n in counts.most_common())


def run() -> list[Table]:
    kubeconfig = str(LocalSeed().up())
    kube = KubeClient.from_kubeconfig(kubeconfig)
    install(kube, namespace=DEFAULT_NAMESPACE, profile=local_profile())
    started = time.monotonic()
    try:
        _fleet(kube)
        setup = time.monotonic() - started
        secret = kube.get(
            "v1", "Secret", naming.kubeconfig_secret(REAL), naming.project_namespace(PROJECT)
        )
        shoot_kubeconfig = base64.b64decode(secret["data"]["kubeconfig-external"])
        with (
            CountingProxy(Path(kubeconfig).read_text()) as seed_proxy,
            CountingProxy(shoot_kubeconfig) as shoot_proxy,
        ):
            seed = client_from_kubeconfig(seed_proxy.kubeconfig_text())

            def shoot_client(_: object) -> KubeClient:
                return client_from_kubeconfig(
                    shoot_proxy.kubeconfig_text(), timeout=SHOOT_TIMEOUT, backoff=SHOOT_BACKOFF
                )

            def once(parallelism: int) -> tuple[float, dict[str, Any]]:
                seed_proxy.reset()
                shoot_proxy.reset()
                options = Options(
                    thresholds=care.DEFAULT_THRESHOLDS, parallelism=parallelism, project=PROJECT
                )
                t0 = time.monotonic()
                result = care_fleet(seed, Shoots(seed), options, shoot_client=shoot_client)
                return time.monotonic() - t0, result

            once(PARALLELISM)  # sets every label: later runs are the steady state
            sequential, _ = once(1)
            parallel, result = once(PARALLELISM)
            seed_calls, shoot_calls = Counter(seed_proxy.counts), Counter(shoot_proxy.counts)
    finally:
        delete(kube, Shoots(kube), PROJECT, REAL, holder="bench")
        kube.delete("v1", "Namespace", naming.project_namespace(PROJECT))

    n = result["shoots"]
    speed = Table(
        title=f"Care over {n} shoots (1 with a control plane, {n - 1} Shoot objects "
        "sharing its API server)",
        unit="s",
    )
    speed.add(f"one care run, parallelism {PARALLELISM} vs 1", parallel, sequential)
    speed.add(f"per shoot, parallelism {PARALLELISM} vs 1", parallel / n, sequential / n)
    speed.notes.append(
        f"Verdicts: {result['counts']}. Setup (one reconcile, {n - 1} objects) {setup:.1f} s."
    )
    calls = Table(title="API calls per shoot in one care run", unit="calls")
    calls.add("seed + shoot", (seed_calls.total() + shoot_calls.total()) / n)
    calls.add(
        "seed (3 fleet lists shared, Secret, Shoot read, status write)", seed_calls.total() / n
    )
    calls.add("shoot (/readyz, nodes, kube-system x4, webhooks x2)", shoot_calls.total() / n)
    calls.notes.append(
        f"Counted by proxies, same run. By verb: seed {_verbs(seed_calls)}; "
        f"shoot {_verbs(shoot_calls)}."
    )
    return [speed, calls]
