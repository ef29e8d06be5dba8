"""Two Airflow installations share the seed: each reaper removes only its own orphan.

Each installation is this Airflow with another ``[garden] instance``
(``AIRFLOW__GARDEN__INSTANCE``), and its reaper is the bundled ``garden_reaper`` run
through ``dag.test()``: real Airflow answers about task instances, real deletes on the
seed. The orphans are plain pause pods with the identity an operator pod carries (the
provider and instance labels, the task-instance annotations) of a task instance that
never existed, the same identity for both installations: only the instance label tells
them apart. The sweep is scoped to this test's namespace.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session

from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.localseed.build import PAUSE_REF
from airflow_provider_garden.operators.pod import (
    DAG_ANNOTATION,
    INSTANCE_LABEL,
    MAP_INDEX_ANNOTATION,
    PROVIDER_LABEL,
    PROVIDER_LABEL_VALUE,
    RUN_ANNOTATION,
    TASK_ANNOTATION,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("airflow_seed_connection")]
DAGS = Path(__file__).resolve().parents[3] / "dags"
REAPER = "garden_reaper"
A, B = "it-airflow-a", "it-airflow-b"


def orphan(seed: KubeClient, namespace: str, instance: str) -> str:
    name = f"orphan-{instance}"
    seed.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": {PROVIDER_LABEL: PROVIDER_LABEL_VALUE, INSTANCE_LABEL: instance},
                "annotations": {
                    DAG_ANNOTATION: REAPER,
                    RUN_ANNOTATION: "manual__never-ran",
                    TASK_ANNOTATION: "reap_orphan_pods",
                    MAP_INDEX_ANNOTATION: "-1",
                },
            },
            "spec": {
                "restartPolicy": "Never",
                "terminationGracePeriodSeconds": 0,
                "automountServiceAccountToken": False,
                "containers": [{"name": "p", "image": PAUSE_REF, "imagePullPolicy": "Never"}],
            },
        }
    )
    return name


def present(seed: KubeClient, namespace: str) -> set[str]:
    """Pods not on their way out (a deleted pod may linger for its grace period)."""
    return {
        p["metadata"]["name"]
        for p in seed.list("v1", "Pod", namespace)
        if not p["metadata"].get("deletionTimestamp")
    }


def reap_as(
    instance: str, reaper: Any, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    monkeypatch.setenv("AIRFLOW__GARDEN__INSTANCE", instance)
    run = reaper.test(run_conf={"namespace": namespace})
    assert str(run.state) == "success"
    with create_session() as session:
        [row] = session.scalars(
            XComModel.get_many(run_id=run.run_id, dag_ids=REAPER, key="return_value")
        ).all()
        summary: dict[str, Any] = XComModel.deserialize_value(row)
    return summary


def test_each_installation_reaps_only_its_own_orphan(
    seed: KubeClient, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reaper = DagBag(dag_folder=str(DAGS)).dags[REAPER]
    mine_a, mine_b = orphan(seed, namespace, A), orphan(seed, namespace, B)
    assert present(seed, namespace) == {mine_a, mine_b}

    by_a = reap_as(A, reaper, namespace, monkeypatch)
    assert by_a["instance"] == A
    assert by_a["deleted"] == [
        {"pod": f"{namespace}/{mine_a}", "why": "its task instance no longer exists"}
    ]
    assert by_a["kept"] == 0  # B's pod was not even listed
    assert present(seed, namespace) == {mine_b}

    by_b = reap_as(B, reaper, namespace, monkeypatch)
    assert by_b["deleted"] == [
        {"pod": f"{namespace}/{mine_b}", "why": "its task instance no longer exists"}
    ]
    deadline = time.monotonic() + 30
    while present(seed, namespace) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert present(seed, namespace) == set()
