"""A restore as one locked operation: the restore pod holds the shoot's Lease and reports.

The pod (account ``garden-etcd``, in the control-plane namespace) may get and update
its shoot's operation Lease and patch that Shoot's status, nothing else in the project
namespace (``kube.rbac.operation_lease_access``, granted by reconcile). It takes the
Lease before it reads the restore journal and reports ``lastOperation`` (Restore:
Processing, then Succeeded or Error) while it holds it, so no other operation's report
is overwritten and a dead Airflow worker leaves neither a restore running unlocked
nor a lock without its restore. Losing the Lease ends the process (exit 75): the
journal makes the next restore settle what it left.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any

from airflow_provider_garden.agent.shoot_operation import operation_lease
from airflow_provider_garden.core import naming
from airflow_provider_garden.core.status import OperationState, OperationType
from airflow_provider_garden.kube import lease
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.errors import Forbidden
from airflow_provider_garden.kube.shoots import Shoots

log = logging.getLogger(__name__)


def restore_locked(
    kube: KubeClient, project: str, name: str, run: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """``run`` (the restore) while this process holds the shoot's Lease, reported."""
    check_lease_access(kube, project, name)
    shoots = Shoots(kube)

    def report(state: OperationState, progress: int, description: str) -> None:
        shoots.report(
            project,
            name,
            type_=OperationType.RESTORE,
            state=state,
            progress=progress,
            description=description,
        )

    with operation_lease(kube, project=project, name=name, holder=socket.gethostname()):
        report(OperationState.PROCESSING, 0, "Restoring etcd from a snapshot")
        try:
            result = run()
        except BaseException as err:  # SIGTERM arrives as SystemExit: reported too
            try:
                report(
                    OperationState.ERROR,
                    0,
                    f"restore failed: {type(err).__name__}: {str(err)[:300]}",
                )
            except Exception as report_err:  # the restore's own error is the one to raise
                log.error("could not report the failed restore: %s", report_err)
            raise
        report(
            OperationState.SUCCEEDED,
            100,
            f"restored {result['snapshot']} (revision {result['revision']})",
        )
        return result


def check_lease_access(kube: KubeClient, project: str, name: str) -> None:
    """Fail naming the cause when this account cannot hold the shoot's Lease: it may
    get and update that one Lease (granted by reconcile), never create it."""
    where = f"Lease {naming.project_namespace(project)}/{naming.operation_lease(name)}"
    try:
        found = kube.find(
            lease.API_VERSION,
            "Lease",
            naming.operation_lease(name),
            naming.project_namespace(project),
        )
    except Forbidden as err:
        raise SystemExit(
            f"garden-agent etcd restore: may not read {where} ({err}); reconcile shoot "
            f"{project}/{name}: it grants the restore's account that Lease"
        ) from None
    if found is None:
        raise SystemExit(
            f"garden-agent etcd restore: {where} does not exist; reconcile shoot "
            f"{project}/{name} first (reconcile creates it)"
        )
