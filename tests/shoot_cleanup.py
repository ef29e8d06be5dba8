"""Deleting a test's shoot with the snapshots its teardown kept.

A teardown keeps snapshots for days; a test's are worth nothing, and kept volumes of
every run would pile up on the one seed. Only the deleted shoot's own (by UID) are
dropped: a record left by an earlier run may point at a store that no longer exists.
"""

from __future__ import annotations

from collections.abc import Iterable

from airflow_provider_garden.agent.shoot_delete import delete
from airflow_provider_garden.kube import kept_backups
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.shoots import Shoots


def delete_shoot(seed: KubeClient, project: str, name: str) -> None:
    shoot = Shoots(seed).find(project, name)
    delete(seed, Shoots(seed), project, name, holder="integration-tests")
    if shoot is None:
        return
    uid = shoot["metadata"]["uid"]
    for record in kept_backups.records(seed, project):
        if record.name == name and record.uid == uid:
            kept_backups.drop(seed, record)


def sweep_leftovers(seed: KubeClient, projects: Iterable[str]) -> list[str]:
    """Delete every shoot an earlier run left in the test projects (a run killed midway,
    a cleanup that failed): each holds seed CPU and a name a module makes again. One
    line per shoot: deleted, or why not (the run goes on; its modules will tell)."""
    lines = []
    shoots = Shoots(seed)
    for project in projects:
        for shoot in shoots.list(project):
            name = shoot["metadata"]["name"]
            try:
                delete_shoot(seed, project, name)
                lines.append(f"{project}/{name}: deleted")
            except Exception as err:
                lines.append(f"{project}/{name}: NOT deleted: {type(err).__name__}: {err}")
    return lines
