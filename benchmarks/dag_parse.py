"""Parse time of each bundled DAG file with 1 and with 1,000 Shoot resources in the seed.

The Airflow connection the DAGs use (`kubernetes_default`, the `[garden]` default)
points at the local seed through a counting proxy (benchmarks/api_count.py), so a
DAG file that talked to the cluster while parsed would both slow down with the
fleet's size and show up as API calls. Both columns come from this one run; the
expected result: equal times, and no API call at all while parsing.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from airflow.dag_processing.dagbag import DagBag
from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.settings import DEFAULT_NAMESPACE
from airflow_provider_garden.core.shoot_resource import to_resource
from airflow_provider_garden.core.shoot_spec import new_spec
from airflow_provider_garden.kube.bootstrap import install
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.localseed.profile import local_profile
from airflow_provider_garden.localseed.seed import LocalSeed
from benchmarks.api_count import CountingProxy
from benchmarks.table import Table

DAGS = Path(__file__).resolve().parents[1] / "dags"
PROJECT = "bench-parse"
RUNS = 5
FEW, MANY = 1, 1000


def _parse_ms(path: Path) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.monotonic()
        bag = DagBag(dag_folder=str(path))
        samples.append((time.monotonic() - start) * 1000)
        assert not bag.import_errors, bag.import_errors
    return statistics.median(samples)


def _shoots(kube: KubeClient, count: int) -> None:
    """At least `count` Shoots in the project (applies are idempotent)."""
    ns = naming.project_namespace(PROJECT)
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    for i in range(count):
        spec = new_spec(PROJECT, f"s{i:04d}", local_profile().kubernetes_versions[0])
        kube.apply(to_resource(spec, api_version=SHOOT_API_VERSION))


def run() -> list[Table]:
    kubeconfig = LocalSeed().up()
    kube = KubeClient.from_kubeconfig(str(kubeconfig))
    install(kube, namespace=DEFAULT_NAMESPACE, profile=local_profile())
    files = sorted(DAGS.glob("garden_*.py"))
    with (
        CountingProxy(kubeconfig.read_text()) as proxy,
        tempfile.TemporaryDirectory(prefix="bench-parse-") as tmp,
    ):
        proxied = Path(tmp) / "kubeconfig"
        proxied.write_text(proxy.kubeconfig_text())
        os.environ["AIRFLOW_CONN_KUBERNETES_DEFAULT"] = json.dumps(
            {"conn_type": "kubernetes", "extra": {"kube_config_path": str(proxied)}}
        )
        try:
            _shoots(kube, FEW)
            for f in files:  # a first parse of each: both columns then measure warm parses
                DagBag(dag_folder=str(f))
            proxy.reset()
            few = {f.name: _parse_ms(f) for f in files}
            few_calls = proxy.total()
            _shoots(kube, MANY)
            proxy.reset()
            many = {f.name: _parse_ms(f) for f in files}
            many_calls = proxy.total()
            # Control: the connection does reach the seed through the proxy, and is counted.
            proxy.reset()
            KubernetesHook(conn_id="kubernetes_default").core_v1_client.list_namespace(limit=1)
            control_calls = proxy.total()
        finally:
            os.environ.pop("AIRFLOW_CONN_KUBERNETES_DEFAULT", None)
            kube.delete("v1", "Namespace", naming.project_namespace(PROJECT))
    table = Table(
        title=f"DAG parse time (median of {RUNS}): {MANY:,} Shoots present vs {FEW}", unit="ms"
    )
    for name in few:
        table.add(name, many[name], few[name])
    calls = Table(title="API calls to the seed while parsing every bundled DAG file", unit="calls")
    calls.add(f"{len(files)} files x {RUNS} parses, {MANY:,} Shoots present", many_calls)
    calls.add(f"{len(files)} files x {RUNS} parses, {FEW} Shoot present", few_calls)
    calls.add("control: one namespace list through the same connection", control_calls)
    table.notes.append(
        "Both columns from this run, in one process after a first parse: the figures are "
        "the DAG file's own work (imports are cached), which is what a cluster call at "
        "parse time would inflate."
    )
    calls.notes.append(
        "Counted by a proxy in front of the seed's kube-apiserver that the "
        "`kubernetes_default` connection points at; anything above 0 is a DAG talking to "
        "the cluster at parse time."
    )
    return [table, calls]
