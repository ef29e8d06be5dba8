"""Worker pools realised by shoot reconcile running as a pod (the bundled garden_provision DAG).

The reconcile pod deploys kwok beside the shoot's control plane, creates the
pool's machines through the in-seed kubeconfig, waits until they are Ready and
sets EveryNodeReady from their nodes.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag
from machines_helpers import HOLDER, OLD, POOL, PROJECT, Shoot, is_ready, version_of

from airflow_provider_garden.agent.shoot_access import client_from_kubeconfig
from airflow_provider_garden.agent.shoot_delete import delete
from airflow_provider_garden.core import naming
from airflow_provider_garden.core.controlplane.manifests import ETCD_VOLUME_CLAIM
from airflow_provider_garden.drivers.base import LABEL_POOL
from airflow_provider_garden.drivers.local import KWOK_NAME
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.shoots import Shoots
from airflow_provider_garden.localseed.profile import local_profile

# Shoots of the one project `machines`, and `care --project machines` heals any of them:
# the machine modules share one lane (tests/lanes.py).
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900), pytest.mark.lane_group("machines")]
DAGS = Path(__file__).resolve().parents[3] / "dags"


@pytest.fixture
def provision(
    garden: KubeClient, seed_kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Airflow on the seed with the bundled DAGs as its bundle; the shoot deleted after."""
    conn = {"conn_type": "kubernetes", "extra": {"kube_config_path": str(seed_kubeconfig)}}
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps(conn))
    bundle = {
        "name": "bundled-dags",
        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
        "kwargs": {"path": str(DAGS)},
    }
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([bundle]))
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run(
        [str(airflow), "db", "migrate"],
        check=True,
        capture_output=True,
        timeout=600,
        env=os.environ,
    )
    name = f"w{uuid.uuid4().hex[:6]}"
    yield name
    delete(garden, Shoots(garden), PROJECT, name, holder=HOLDER)


def test_provisioned_pool_runs_ready_machines_and_reports_them(
    garden: KubeClient, provision: str
) -> None:
    name = provision
    workers = [
        {
            "name": POOL,
            "machine": {"type": "local", "image": {"name": "gardenlinux", "version": OLD}},
            "minimum": 3,
            "maximum": 4,
        }
    ]
    dag = DagBag(dag_folder=str(DAGS)).dags["garden_provision"]
    run = dag.test(
        run_conf={
            "project": PROJECT,
            "name": name,
            "kubernetes_version": local_profile().kubernetes_versions[0],
            "workers": workers,
        }
    )
    assert run.state == "success"
    secret = garden.get(
        "v1", "Secret", naming.kubeconfig_secret(name), naming.project_namespace(PROJECT)
    )
    shoot = client_from_kubeconfig(base64.b64decode(secret["data"]["kubeconfig-external"]))
    nodes = shoot.list("v1", "Node", label_selector=f"{LABEL_POOL}={POOL}")
    assert len(nodes) == 3
    assert all(is_ready(n) and version_of(n) == OLD for n in nodes)
    assert all(not n["spec"].get("taints") for n in nodes), "the not-ready taint was lifted"
    status = Shoots(garden).get(PROJECT, name)["status"]
    [nodes_ready] = [c for c in status["conditions"] if c["type"] == "EveryNodeReady"]
    assert (nodes_ready["status"], nodes_ready["message"]) == ("True", "all 3 machines are Ready")
    # kwok runs beside the control plane, as the shoot's machine controller
    kwok = garden.get(
        "apps/v1", "Deployment", "kwok-controller", naming.controlplane_namespace(PROJECT, name)
    )
    assert kwok["status"].get("availableReplicas") == 1


# What reconcile leaves in the control-plane namespace, by kind; Kubernetes' own
# objects of a new namespace are not the shoot's.
CONTROL_PLANE_KINDS = [
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("v1", "Service"),
    ("v1", "Secret"),
    ("v1", "ConfigMap"),
    ("v1", "PersistentVolumeClaim"),
    ("v1", "ServiceAccount"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
]
KUBERNETES_OWN = {("ServiceAccount", "default"), ("ConfigMap", "kube-root-ca.crt")}
FLOW_LINE = re.compile(r"flow '.*': task '(?P<task>.+)' (?P<state>running|succeeded|skipped)")


def test_delete_destroys_what_reconcile_made_in_reverse_order(
    garden: KubeClient, make_shoot: Callable[..., Shoot], caplog: pytest.LogCaptureFixture
) -> None:
    shoot = make_shoot(machines=2)
    cp_ns = naming.controlplane_namespace(PROJECT, shoot.name)
    made = {
        (kind, obj["metadata"]["name"])
        for api_version, kind in CONTROL_PLANE_KINDS
        for obj in garden.list(api_version, kind, cp_ns)
    } - KUBERNETES_OWN
    assert ("StatefulSet", "etcd") in made
    assert ("Deployment", KWOK_NAME) in made
    assert ("PersistentVolumeClaim", ETCD_VOLUME_CLAIM) in made
    assert len(shoot.nodes()) == 2

    caplog.set_level(logging.INFO)
    result = delete(garden, Shoots(garden), PROJECT, shoot.name, holder=HOLDER)
    assert result["state"] == "Deleted"

    # Each object was deleted by its component's destroy() (it says so), not merely
    # swept away with the namespace at the end.
    deleted = set(re.findall(rf": deleting (\w+) {re.escape(cp_ns)}/(\S+)", caplog.text))
    assert made - deleted == set(), "left for the namespace to sweep"
    assert "worker pool pool-a: deleting 2 machine(s)" in caplog.text
    assert "deleting ClusterRole garden:kwok-controller in the shoot" in caplog.text
    assert garden.find("v1", "Namespace", cp_ns) is None
    assert (
        garden.find(
            "v1", "Secret", naming.kubeconfig_secret(shoot.name), naming.project_namespace(PROJECT)
        )
        is None
    )

    # In the log, each component goes only after what needed it is gone: reconcile's
    # order reversed.
    events = [
        (m["task"], m["state"]) for m in map(FLOW_LINE.search, caplog.messages) if m is not None
    ]

    def at(task: str, state: str) -> int:
        return events.index((task, state))

    chain = [
        "worker pools",
        "machine controller (kwok)",
        "admin kubeconfig",
        "kube-apiserver",
        "etcd",
        "secrets",
        "kube-apiserver service",
        "control-plane namespace",
    ]
    for needer, needed in itertools.pairwise(chain):
        assert at(f"Waiting until nothing is left of {needer}", "succeeded") < at(
            f"Deleting {needed}", "running"
        ), f"{needed} went before {needer} was gone"
    for controller in ("kube-controller-manager", "kube-scheduler"):
        # it collects the deleted nodes in the shoot: it goes after the machines
        assert at("Waiting until nothing is left of worker pools", "succeeded") < at(
            f"Deleting {controller}", "running"
        )
        assert at(f"Waiting until nothing is left of {controller}", "succeeded") < at(
            "Deleting kube-apiserver", "running"
        )
