"""`make demo`: provision a shoot through the bundled DAG, on the local seed by default.

If no cluster is configured (no GARDEN_KUBECONFIG and no `kubernetes_default`
Airflow connection in the environment), the local seed is brought up first.
Everything after that is what a user does: install the provider into the seed,
then trigger `garden_provision`, here with `airflow dags test`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from airflow_provider_garden.core.project import Member, Project, Role
from airflow_provider_garden.core.settings import DEFAULT_NAMESPACE
from airflow_provider_garden.kube.bootstrap import install
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.projects import Projects
from airflow_provider_garden.localseed.profile import local_profile

CONN_ENV = "AIRFLOW_CONN_KUBERNETES_DEFAULT"
#: `airflow dags test` triggers its run as this user: the demo project's owner and admin
DAG_TEST_USER = "dag_test"


def _say(text: str) -> None:
    print(f"==> [demo] {text}", flush=True)


def _seed_kubeconfig() -> str:
    configured = os.environ.get("GARDEN_KUBECONFIG")
    if configured:
        _say(f"using the cluster in GARDEN_KUBECONFIG={configured}")
        return configured
    from airflow_provider_garden.localseed.seed import LocalSeed

    _say("no cluster configured: bringing up the local seed (first run builds Kubernetes: minutes)")
    return str(LocalSeed().up())


def main() -> int:
    if CONN_ENV in os.environ and "GARDEN_KUBECONFIG" not in os.environ:
        _say(f"{CONN_ENV} is set: using that cluster as the seed")
        kubeconfig = json.loads(os.environ[CONN_ENV])["extra"]["kube_config_path"]
    else:
        kubeconfig = _seed_kubeconfig()
        os.environ[CONN_ENV] = json.dumps(
            {"conn_type": "kubernetes", "extra": {"kube_config_path": kubeconfig}}
        )
    _say("installing the provider into the seed (CRDs, accounts, CloudProfile)")
    kube = KubeClient.from_kubeconfig(kubeconfig)
    install(kube, namespace=DEFAULT_NAMESPACE, profile=local_profile())
    demo = Project("demo", owner=DAG_TEST_USER, members=(Member(DAG_TEST_USER, Role.ADMIN),))
    _say(
        f"creating project demo (owner and admin: {DAG_TEST_USER}, who `airflow dags test` runs as)"
    )
    projects = Projects(kube, provider_namespace=DEFAULT_NAMESPACE)
    projects.apply(demo)
    projects.ensure_namespace(demo)

    airflow = str(Path(sys.executable).with_name("airflow"))
    _say("preparing Airflow's database")
    subprocess.run([airflow, "db", "migrate"], check=True, stdout=subprocess.DEVNULL)
    conf = {"project": "demo", "name": "hello"}
    _say(f"triggering garden_provision with {json.dumps(conf)}")
    started = time.monotonic()
    run = subprocess.run([airflow, "dags", "test", "garden_provision", "--conf", json.dumps(conf)])
    if run.returncode != 0:
        _say("garden_provision failed: see the task logs above")
        return run.returncode
    _say(f"shoot demo/hello provisioned in {time.monotonic() - started:.0f}s")
    garden = str(Path(sys.executable).with_name("garden"))
    subprocess.run([garden, "--kubeconfig", kubeconfig, "shoots", "ls"], check=False)
    _say(
        f"kubeconfig: {garden} --kubeconfig {kubeconfig} kubeconfig demo/hello "
        f"--user {DAG_TEST_USER} --expiration 1h"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
