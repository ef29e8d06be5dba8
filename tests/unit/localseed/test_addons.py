"""The seed's add-on manifests: never pull, serve cluster DNS, provide a default StorageClass."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from airflow_provider_garden.localseed import addons


def _objects() -> list[dict[str, Any]]:
    rendered = addons.render(
        addons.coredns_objects() + addons.local_path_objects(volumes_dir=Path("/srv/s/vols"))
    )
    doc = json.loads(rendered)
    assert doc["kind"] == "List"
    return list(doc["items"])


def _containers(objects: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for obj in objects:
        if obj["kind"] == "Deployment":
            yield from obj["spec"]["template"]["spec"]["containers"]
        if obj["kind"] == "ConfigMap" and "helperPod.yaml" in obj["data"]:
            yield from json.loads(obj["data"]["helperPod.yaml"])["spec"]["containers"]


def test_no_container_ever_pulls() -> None:
    containers = list(_containers(_objects()))
    assert len(containers) == 3  # coredns, provisioner, provisioner's helper pod
    assert {c["imagePullPolicy"] for c in containers} == {"Never"}


def test_dns_service_has_the_kubelet_cluster_dns_address() -> None:
    (service,) = [o for o in _objects() if o["kind"] == "Service"]
    assert service["metadata"]["name"] == "kube-dns"
    assert service["spec"]["clusterIP"] == "10.96.0.10"
    corefile = addons.COREFILE
    assert "kubernetes cluster.local" in corefile
    assert "forward" not in corefile  # nothing leaves the machine


def test_default_storage_class_stores_volumes_in_the_given_directory() -> None:
    objects = _objects()
    (sc,) = [o for o in objects if o["kind"] == "StorageClass"]
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer"
    (cm,) = [o for o in objects if o["metadata"]["name"] == "local-path-config"]
    paths = json.loads(cm["data"]["config.json"])["nodePathMap"][0]["paths"]
    assert paths == ["/srv/s/vols"]
