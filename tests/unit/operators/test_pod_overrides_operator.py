"""Operators refuse a DAG's pod arguments that choose who the pod runs as, unless allowed.

Pod-spec building only: the manifests are composed, nothing reaches a cluster.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from kubernetes.client import models as k8s

from airflow_provider_garden.core.settings import DEFAULTS, GardenSettings
from airflow_provider_garden.operators.etcd import EtcdRestoreOperator
from airflow_provider_garden.operators.kustomize import KustomizeApplyOperator
from airflow_provider_garden.operators.pod import PodOverrideError
from airflow_provider_garden.operators.shoot import ShootCreateOperator


def settings(*allowed: str) -> GardenSettings:
    return dataclasses.replace(DEFAULTS, allowed_pod_overrides=allowed)


def create(**kwargs: Any) -> ShootCreateOperator:
    return ShootCreateOperator(task_id="create", project="team-a", name="dev", **kwargs)


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("service_account_name", "garden-shoot"),
        ("service_account_name", "garden-etcd"),
        ("image", "docker.io/library/busybox"),
        ("security_context", {"runAsUser": 0}),
        ("container_security_context", k8s.V1SecurityContext(privileged=True)),
        ("hostnetwork", True),
        ("host_aliases", [k8s.V1HostAlias(ip="10.0.0.1", hostnames=["x"])]),
        ("hostname", "node"),
        ("full_pod_spec", k8s.V1Pod(spec=k8s.V1PodSpec(containers=[], host_pid=True))),
        ("pod_template_dict", {"spec": {"hostPID": True}}),
        ("init_containers", [k8s.V1Container(name="i", image="busybox")]),
    ],
)
def test_a_dag_cannot_choose_who_or_what_the_pod_runs_as(argument: str, value: Any) -> None:
    with pytest.raises(PodOverrideError) as err:
        create(settings=settings(), **{argument: value})
    message = str(err.value)
    assert message.startswith(f"ShootCreateOperator 'create': {argument}=")
    assert "[garden] allowed_pod_overrides" in message


def test_every_refusal_is_named_at_once() -> None:
    with pytest.raises(PodOverrideError) as err:
        create(settings=settings(), image="x", service_account_name="garden-shoot")
    assert str(err.value).count("the operator chooses this itself") == 2


def test_the_allow_list_lets_exactly_what_it_names_through_to_the_pod() -> None:
    allowed = settings("image=localhost/garden/toolbox:next", "hostnetwork")
    task = create(settings=allowed, image="localhost/garden/toolbox:next", hostnetwork=True)
    assert (task.image, task.hostnetwork) == ("localhost/garden/toolbox:next", True)
    assert task.service_account_name == "garden-shoot"
    with pytest.raises(PodOverrideError, match=r"^ShootCreateOperator 'create': image='other'"):
        create(settings=allowed, image="other")


def test_without_overrides_each_operator_chooses_its_own() -> None:
    shoot = create(settings=settings())
    assert shoot.service_account_name == "garden-shoot"
    assert shoot.image == DEFAULTS.toolbox_image
    assert shoot.security_context.run_as_non_root is True
    assert shoot.hostnetwork is False
    # The operator's own choices are not the DAG's: no allow-list entry is needed for them.
    restore = EtcdRestoreOperator(task_id="r", project="team-a", name="dev", settings=settings())
    assert restore.security_context == {"runAsUser": 0, "runAsGroup": 0}
    on_shoot = KustomizeApplyOperator(
        task_id="k",
        inventory_id="i",
        git_url="https://example.com/x.git",
        target="team-a/dev",
        settings=settings(),
    )
    assert on_shoot.service_account_name == "default"
    on_seed = KustomizeApplyOperator(
        task_id="k", inventory_id="i", git_url="https://example.com/x.git", settings=settings()
    )
    assert on_seed.service_account_name == "garden-kustomize"
