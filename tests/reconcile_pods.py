"""Agent pods of one project (or one shoot), for tests that count or compare them.

Judged by what the agent is told (``--project``, ``--name``), not by every pod of an
operation on the seed: another test session, or another integration lane beside this
one, may start its own reconcile pods at any moment, and those are not this test's.
"""

from __future__ import annotations

import itertools
from typing import Any

from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.operators.pod import OPERATION_LABEL


def acts_on(pod: dict[str, Any], project: object, name: str | None = None) -> bool:
    """The pod's agent is given ``--project project`` (and ``--name name`` when given)."""
    wanted = {"--project": str(project)} | ({"--name": name} if name is not None else {})
    for container in pod["spec"]["containers"]:
        argv = [*(container.get("command") or []), *(container.get("args") or [])]
        told = {flag: value for flag, value in itertools.pairwise(argv) if flag in wanted}
        if told == wanted:
            return True
    return False


def reconcile_pods(seed: KubeClient, project: object) -> set[str]:
    """UIDs of the shoot-reconcile pods, in any namespace, whose agent acts in ``project``."""
    selector = f"{OPERATION_LABEL}=shoot-reconcile"
    return {
        pod["metadata"]["uid"]
        for pod in seed.list("v1", "Pod", None, label_selector=selector)
        if acts_on(pod, project)
    }
