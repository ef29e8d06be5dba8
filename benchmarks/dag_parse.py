"""Parse time of each bundled DAG file with 1 and with 500 Shoot resources in the seed.

The two columns must match: nothing in a bundled DAG talks to the cluster while
its file is parsed (the fleet is listed by tasks, at run time).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from airflow.dag_processing.dagbag import DagBag

from airflow_provider_garden.core import naming
from airflow_provider_garden.kube.bootstrap import install
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.localseed.profile import local_profile
from airflow_provider_garden.localseed.seed import LocalSeed
from benchmarks.table import Table

DAGS = Path(__file__).resolve().parents[1] / "dags"
PROJECT = "bench-parse"
RUNS = 5


def _parse_ms(path: Path) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.monotonic()
        bag = DagBag(dag_folder=str(path))
        samples.append((time.monotonic() - start) * 1000)
        assert not bag.import_errors, bag.import_errors
    return statistics.median(samples)


def _shoots(kube: KubeClient, count: int) -> None:
    ns = naming.project_namespace(PROJECT)
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    for i in range(count):
        kube.apply(
            {
                "apiVersion": SHOOT_API_VERSION,
                "kind": "Shoot",
                "metadata": {"name": f"s{i:03d}", "namespace": ns},
                "spec": {"kubernetes": {"version": local_profile().kubernetes_versions[0]}},
            }
        )


def run() -> list[Table]:
    kube = KubeClient.from_kubeconfig(str(LocalSeed().up()))
    install(kube, namespace="garden-system", profile=local_profile())
    files = sorted(DAGS.glob("garden_*.py"))
    _shoots(kube, 1)
    one = {f.name: _parse_ms(f) for f in files}
    _shoots(kube, 500)
    many = {f.name: _parse_ms(f) for f in files}
    kube.delete("v1", "Namespace", naming.project_namespace(PROJECT))
    table = Table(title=f"DAG parse time (median of {RUNS}): 500 Shoots present vs 1", unit="ms")
    for name in one:
        table.add(name, many[name], one[name])
    table.notes.append(
        "In one process, after a first parse: the figures are the DAG file's own work "
        "(imports are cached), which is what a cluster call at parse time would inflate."
    )
    return [table]
