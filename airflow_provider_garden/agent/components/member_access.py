"""Project members' access inside the shoot: the bindings of their groups.

A member's short-lived certificate (core/member_access.py) carries their role's group;
these ClusterRoleBindings give the groups their rights. They live in the shoot's
etcd, so delete leaves them to go with it.
"""

from __future__ import annotations

from airflow_provider_garden.agent.components.secrets import ShootAccess
from airflow_provider_garden.core.member_access import member_bindings


class MemberAccess:
    name = "project member access"

    def __init__(self, shoot: ShootAccess) -> None:
        self.shoot = shoot

    def deploy(self) -> None:
        client = self.shoot.client()
        for binding in member_bindings():
            client.apply(binding)

    def wait(self) -> None:
        """Applied bindings hold at once: nothing to wait for."""

    def destroy(self) -> None:
        """They go with the shoot's etcd."""

    def wait_cleanup(self) -> None:
        """Nothing of theirs outlives etcd."""
