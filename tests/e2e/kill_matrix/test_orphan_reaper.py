"""The orphan reaper removes a deliberately orphaned pod and nothing else.

It runs garden_reaper's task (`operators.reaper.reap_task`) in the DAG `kmx_reaper`:
the bundled DAG is hourly, and unpausing it here would start an unscoped sweep of a
seed that other Airflows share in CI.

The orphan is made the way orphans happen: a task process killed with SIGKILL (no
`on_kill`, no retry) while its pod runs. Around it stand pods the reaper must leave:
one whose task still runs, one of a DAG this Airflow does not know, one kept on
request, one without a task identity, one of another installation (another
`[garden] instance`) with the identity of a pod that goes. One more must go with the
orphan: a pod whose task instance never existed (its run is gone). The reaper run is scoped to the pods
of this test by a label selector (the seed is shared with other tests and people).
"""

from __future__ import annotations

import signal
import time
from contextlib import suppress
from typing import Any

from kill_matrix.harness import MatrixRunner
from kill_matrix.operators import GARDEN_NAMESPACE, INSTANCE

from airflow_provider_garden.kube.client import KubeClient, NotFound
from airflow_provider_garden.operators.pod import (
    DAG_ANNOTATION,
    INSTANCE_LABEL,
    KEPT_LABEL,
    MAP_INDEX_ANNOTATION,
    PROVIDER_LABEL,
    PROVIDER_LABEL_VALUE,
    RUN_ANNOTATION,
    TASK_ANNOTATION,
)

DAG_ID = "kmx_reaper_subjects"
LABEL, VALUE = "garden.airflow.io/e2e-reaper", "kill-matrix"


def hand_made_pod(
    kube: KubeClient,
    name: str,
    owner: tuple[str, str, str] | None,
    *,
    kept: bool = False,
    instance: str = INSTANCE,
) -> str:
    """A pod of this provider (a sleeping toolbox container) with the given task identity."""
    labels = {PROVIDER_LABEL: PROVIDER_LABEL_VALUE, LABEL: VALUE, INSTANCE_LABEL: instance}
    if kept:
        labels[KEPT_LABEL] = "true"
    annotations = {}
    if owner is not None:
        dag_id, run_id, task_id = owner
        annotations = {
            DAG_ANNOTATION: dag_id,
            RUN_ANNOTATION: run_id,
            TASK_ANNOTATION: task_id,
            MAP_INDEX_ANNOTATION: "-1",
        }
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": GARDEN_NAMESPACE,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            "automountServiceAccountToken": False,
            "containers": [
                {
                    "name": "base",
                    "image": "localhost/garden/toolbox:0.1.0",
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["sleep", "600"],
                }
            ],
        },
    }
    kube.create(pod)
    return name


def pods_of_this_test(kube: KubeClient) -> set[str]:
    return {
        p["metadata"]["name"]
        for p in kube.list("v1", "Pod", GARDEN_NAMESPACE, label_selector=f"{LABEL}={VALUE}")
        if not p["metadata"].get("deletionTimestamp")
    }


def test_the_reaper_removes_the_orphan_and_nothing_else(
    matrix_runner: MatrixRunner, airflow_seed: KubeClient, e2e_report: list[str]
) -> None:
    api, kube = matrix_runner.api, airflow_seed
    for leftover in pods_of_this_test(kube):  # of an earlier, interrupted session
        with suppress(NotFound):
            kube.raw("DELETE", f"/api/v1/namespaces/{GARDEN_NAMESPACE}/pods/{leftover}")
    run_id = matrix_runner.trigger(DAG_ID)
    for task_id in ("orphan", "alive"):
        api.wait_task_state(DAG_ID, run_id, task_id, {"running"}, timeout=120)
    matrix_runner.watcher.wait(
        DAG_ID, run_id, lambda pods: sum(p.phase == "Running" for p in pods) == 2, timeout=120
    )
    [orphan_pod] = [
        p.name for p in matrix_runner.watcher.current(DAG_ID, run_id) if p.task_id == "orphan"
    ]
    matrix_runner.task_process(DAG_ID, run_id, "orphan").send_signal(signal.SIGKILL)
    api.wait_task_state(DAG_ID, run_id, "orphan", {"failed"}, timeout=120)
    time.sleep(3)
    assert orphan_pod in pods_of_this_test(kube), "the killed task's pod should have outlived it"

    gone_run = hand_made_pod(kube, "kmx-reaper-gone-run", (DAG_ID, "manual__gone", "orphan"))
    stranger = hand_made_pod(kube, "kmx-reaper-stranger", ("not_in_this_airflow", "r", "t"))
    kept = hand_made_pod(kube, "kmx-reaper-kept", (DAG_ID, run_id, "orphan"), kept=True)
    anonymous = hand_made_pod(kube, "kmx-reaper-anonymous", None)
    foreign = hand_made_pod(
        kube, "kmx-reaper-foreign", (DAG_ID, "manual__gone", "orphan"), instance="other-airflow"
    )
    before = pods_of_this_test(kube)
    alive = next(iter(before - {orphan_pod, gone_run, stranger, kept, anonymous, foreign}))
    try:
        began = time.monotonic()
        reaper_run = matrix_runner.trigger("kmx_reaper", {"label_selector": f"{LABEL}={VALUE}"})
        assert api.wait_run("kmx_reaper", reaper_run, timeout=180) == "success"
        summary = api.xcom("kmx_reaper", reaper_run, "reap_orphan_pods")
        e2e_report.append(
            f"reaper: {len(summary['deleted'])} deleted, {summary['kept']} kept "
            f"in {time.monotonic() - began:.1f}s (trigger to success)"
        )

        reasons = {d["pod"]: d["why"] for d in summary["deleted"]}
        assert reasons == {
            f"{GARDEN_NAMESPACE}/{orphan_pod}": "its task instance is failed",
            f"{GARDEN_NAMESPACE}/{gone_run}": "its task instance no longer exists",
        }
        deadline = time.monotonic() + 40
        while {orphan_pod, gone_run} & pods_of_this_test(kube) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert pods_of_this_test(kube) == {alive, stranger, kept, anonymous, foreign}
        assert api.task_instance(DAG_ID, run_id, "alive")["state"] == "running"
    finally:
        api.set_task_state(DAG_ID, run_id, "alive", "failed")
        for name in (stranger, kept, anonymous, gone_run, foreign):
            with suppress(NotFound):
                kube.raw("DELETE", f"/api/v1/namespaces/{GARDEN_NAMESPACE}/pods/{name}")
