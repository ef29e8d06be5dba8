"""`garden-agent shoot delete`: remove a shoot's control plane, Secrets and resource."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.flow import Flow, FlowError, Progress, Task
from airflow_provider_garden.kube import lease
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.kube.shoots import Shoots, error_entry


def delete(
    kube: KubeClient, shoots: Shoots, project: str, name: str, *, holder: str
) -> dict[str, Any]:
    result = {"project": project, "name": name}
    if shoots.find(project, name) is None:
        return {**result, "state": "Absent"}
    project_ns = naming.project_namespace(project)
    cp_ns = naming.controlplane_namespace(project, name)

    def namespace_gone() -> None:
        if kube.find("v1", "Namespace", cp_ns) is not None:
            raise RuntimeError(f"namespace {cp_ns} is still terminating")

    flow = Flow(
        name=f"Delete shoot {project}/{name}",
        tasks=[
            Task(
                name="Deleting control-plane namespace",
                fn=lambda: kube.delete("v1", "Namespace", cp_ns),
            ),
            Task(
                name="Waiting until the control plane is gone",
                fn=namespace_gone,
                dependencies=["Deleting control-plane namespace"],
                retry_timeout=dt.timedelta(minutes=5),
                retry_interval=dt.timedelta(seconds=1),
            ),
            Task(
                name="Deleting admin kubeconfig",
                fn=lambda: kube.delete("v1", "Secret", naming.kubeconfig_secret(name), project_ns),
                dependencies=["Waiting until the control plane is gone"],
            ),
        ],
    )

    def on_progress(p: Progress) -> None:
        shoots.report(
            project,
            name,
            type_="Delete",
            state="Processing",
            progress=min(p.percent, 99),
            description=p.description,
        )

    with lease.held(kube, namespace=project_ns, name=naming.operation_lease(name), holder=holder):
        shoots.report(
            project, name, type_="Delete", state="Processing", progress=0, description="Starting"
        )
        try:
            flow.run(on_progress=on_progress)
        except FlowError as err:
            shoots.report(
                project,
                name,
                type_="Delete",
                state="Error",
                progress=0,
                description=str(err),
                errors=[error_entry(str(err.failed[0].error), [], t) for t in err.failed_tasks],
            )
            raise
        kube.delete(SHOOT_API_VERSION, "Shoot", name, project_ns)
    return {**result, "state": "Deleted"}
