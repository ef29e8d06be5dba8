"""Shoot creation: task start to `/readyz` through Airflow, beside plain kubectl.

Ours: `ShootCreateOperator` in `dag.test()` (validation, Shoot resource, a toolbox
pod running the reconcile flow) until the shoot's API server answers `/readyz`.
Baseline: the same rendered manifests and Secrets applied with `kubectl apply`
from the host, then the same wait. Also: seed memory per running shoot, read
from the pods' memory cgroups.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

from airflow_provider_garden.agent.shoot_delete import delete
from airflow_provider_garden.agent.shoot_reconcile import reconcile
from airflow_provider_garden.core import naming
from airflow_provider_garden.core.controlplane import manifests as m
from airflow_provider_garden.core.controlplane import secrets as cps
from airflow_provider_garden.core.settings import DEFAULT_NAMESPACE
from airflow_provider_garden.core.shoot_resource import to_resource
from airflow_provider_garden.core.shoot_spec import new_spec
from airflow_provider_garden.kube.bootstrap import install
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.kube.shoots import Shoots
from airflow_provider_garden.localseed.profile import local_profile
from airflow_provider_garden.localseed.seed import LocalSeed
from benchmarks.memory import pod_bytes
from benchmarks.seed_kubectl import kubectl as seed_kubectl
from benchmarks.table import Table, fmt_samples, median_of

RUNS = int(os.environ.get("BENCH_SHOOT_RUNS", "5"))
VERSION = local_profile().kubernetes_versions[0]
SPEC = {
    "kubernetes": {"version": VERSION},
    "networking": {"pods": "100.96.0.0/11", "services": "100.64.0.0/13"},
}


def _wait_readyz(server: str, ca: bytes, cert: bytes, key: bytes, timeout: float = 600) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for name, data in (("ca", ca), ("crt", cert), ("key", key)):
            files[name] = Path(tmp) / name
            files[name].write_bytes(data)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = subprocess.run(
                [
                    "curl",
                    "-sf",
                    "--max-time",
                    "2",
                    "--cacert",
                    str(files["ca"]),
                    "--cert",
                    str(files["crt"]),
                    "--key",
                    str(files["key"]),
                    f"{server}/readyz",
                ],
                capture_output=True,
                text=True,
            )
            if out.stdout.strip() == "ok":
                return
            time.sleep(0.25)
    raise TimeoutError(f"{server}/readyz did not answer ok")


def _admin(kube: KubeClient, project: str, name: str) -> tuple[str, bytes, bytes, bytes]:
    secret = kube.get(
        "v1", "Secret", naming.kubeconfig_secret(name), naming.project_namespace(project)
    )
    cfg = yaml.safe_load(base64.b64decode(secret["data"]["kubeconfig-external"]))
    user = cfg["users"][0]["user"]
    return (
        cfg["clusters"][0]["cluster"]["server"],
        base64.b64decode(cfg["clusters"][0]["cluster"]["certificate-authority-data"]),
        base64.b64decode(user["client-certificate-data"]),
        base64.b64decode(user["client-key-data"]),
    )


BENCH_DAG = """
import pendulum
from airflow.sdk import DAG
from airflow_provider_garden.operators.shoot import ShootCreateOperator

with DAG(dag_id="bench_shoot_create", schedule=None, render_template_as_native_obj=True,
         start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), params={"name": "b"}):
    ShootCreateOperator(task_id="create", project="bench", name="{{ params.name }}", spec=%r)
"""


def _bench_dag() -> Any:
    """dag.test() runs only DAGs of a configured bundle: this one gets a bundle of its own."""
    folder = Path(tempfile.mkdtemp(prefix="bench-dags-"))
    (folder / "bench_shoot_create.py").write_text(BENCH_DAG % (SPEC,))
    bundle = {
        "name": "bench",
        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
        "kwargs": {"path": str(folder)},
    }
    os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps([bundle])
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(folder)).dags["bench_shoot_create"]


def _ours(kube: KubeClient, dag: Any) -> float:
    name = f"b{uuid.uuid4().hex[:6]}"
    start = time.monotonic()
    run = dag.test(run_conf={"name": name})
    if run.state != "success":
        raise RuntimeError(f"dag run {run.state}")
    _wait_readyz(*_admin(kube, "bench", name))
    took = time.monotonic() - start
    delete(kube, Shoots(kube), "bench", name, holder="bench")
    return took


def _baseline(kubeconfig: str, kube: KubeClient) -> float:
    name = f"k{uuid.uuid4().hex[:6]}"
    cp = m.ControlPlane(
        namespace=naming.controlplane_namespace("bench", name),
        project="bench",
        shoot=name,
        kubernetes_version="v" + VERSION,
        pods_cidr=SPEC["networking"]["pods"],
        services_cidr=SPEC["networking"]["services"],
    )
    start = time.monotonic()
    kubectl = [seed_kubectl(), "--kubeconfig", kubeconfig]
    svc = json.loads(
        subprocess.run(
            [*kubectl, "apply", "-o", "json", "-f", "-"],
            input=json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "List",
                    "items": [m.namespace(cp), m.apiserver_service(cp)],
                }
            ),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )["items"][1]
    ep = cps.Endpoints(
        namespace=cp.namespace,
        apiserver_cluster_ip=svc["spec"]["clusterIP"],
        shoot_kubernetes_ip=m.shoot_kubernetes_ip(cp.services_cidr),
        external_server=f"https://{svc['spec']['clusterIP']}",
    )
    secrets = cps.plan_secrets({}, ep, now=dt.datetime.now(dt.UTC))
    items = [m.secret(cp, n, cps.encode(d)) for n, d in secrets.items()]
    items += [
        *m.etcd_services(cp),
        m.etcd(cp),
        m.apiserver(cp),
        m.controller_manager(cp),
        m.scheduler(cp),
    ]
    subprocess.run(
        [*kubectl, "apply", "-f", "-"],
        input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}),
        capture_output=True,
        text=True,
        check=True,
    )
    _wait_readyz(
        ep.external_server,
        secrets["ca"]["tls.crt"],
        secrets["admin"]["tls.crt"],
        secrets["admin"]["tls.key"],
    )
    took = time.monotonic() - start
    subprocess.run(
        [*kubectl, "delete", "namespace", cp.namespace, "--wait=true"],
        capture_output=True,
        check=True,
    )
    return took


def run() -> list[Table]:
    kubeconfig = str(LocalSeed().up())
    os.environ["AIRFLOW_CONN_KUBERNETES_DEFAULT"] = json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": kubeconfig}}
    )
    kube = KubeClient.from_kubeconfig(kubeconfig)
    install(kube, namespace=DEFAULT_NAMESPACE, profile=local_profile())
    dag = _bench_dag()
    ours, ours_samples = median_of(RUNS, lambda: _ours(kube, dag))
    base, base_samples = median_of(RUNS, lambda: _baseline(kubeconfig, kube))
    speed = Table(title=f"Shoot creation: task start to /readyz (median of {RUNS})", unit="s")
    speed.add("ShootCreateOperator (dag.test) vs kubectl apply of the same manifests", ours, base)
    speed.notes.append(
        f"ours: {fmt_samples(ours_samples)} s; kubectl: {fmt_samples(base_samples)} s"
    )

    # one shoot kept up (reconciled by the agent from the host) for a memory reading at rest
    name = "mem"
    ns = naming.project_namespace("bench")
    spec = new_spec("bench", name, VERSION)
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    shoots = Shoots(kube)
    shoots.apply(to_resource(spec, api_version=SHOOT_API_VERSION))
    reconcile(
        kube,
        shoots,
        "bench",
        name,
        holder="bench",
        garden_namespace=DEFAULT_NAMESPACE,
    )
    time.sleep(20)  # let the control plane settle after start-up
    memory = Table(
        title="Seed memory per running shoot (pods' memory cgroups, at rest)", unit="MiB"
    )
    memory.add(
        "one shoot control plane (etcd, apiserver, controller-manager, scheduler)",
        pod_bytes(kube, naming.controlplane_namespace("bench", name)) / 2**20,
    )
    delete(kube, shoots, "bench", name, holder="bench")
    return [speed, memory]
