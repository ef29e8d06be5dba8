"""The shoot-reconcile pods of one project, for tests that prove a refused run started none.

Judged by the project the agent is told (``--project``), not by every reconcile pod on
the seed: another test session, or another integration lane beside this one, may start
its own reconcile pods at any moment, and those are not the refused run's.
"""

from __future__ import annotations

import itertools
from typing import Any

from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.operators.pod import OPERATION_LABEL


def _names_project(pod: dict[str, Any], project: str) -> bool:
    for container in pod["spec"]["containers"]:
        argv = [*(container.get("command") or []), *(container.get("args") or [])]
        if any(a == "--project" and b == project for a, b in itertools.pairwise(argv)):
            return True
    return False


def reconcile_pods(seed: KubeClient, project: object) -> set[str]:
    """UIDs of the shoot-reconcile pods, in any namespace, whose agent acts in ``project``."""
    selector = f"{OPERATION_LABEL}=shoot-reconcile"
    return {
        pod["metadata"]["uid"]
        for pod in seed.list("v1", "Pod", None, label_selector=selector)
        if _names_project(pod, str(project))
    }
