"""No secret leaves its mount: a canary in every Secret the operators use never shows up.

A random canary is written into every Secret of the matrix shoot: its admin
kubeconfig Secret (as an extra user inside the kubeconfig files, which the pods
load, and as a key of its own) and every Secret of its control plane (which the
reconcile reads whole; the etcd client certificates that backup pods mount). Local
snapshot stores have no credentials; an S3 store's Secret would get the canary too.
Then `kmx_canary` runs every operator that mounts or reads them, in both modes,
plus two failures with the kubeconfig mounted (a crash, a pod that cannot start).
The canary, and a slice of every private key and token those Secrets hold, must not
appear in: the task logs (REST, every try), the log files of the stack (task logs
and every component's log), the rendered template fields (REST), the XCom entries
(REST), the exception messages recorded in the Shoot's status, nor anywhere in the
metadata database's files.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from typing import Any

import yaml
from airflow_stack import AirflowStack
from kill_matrix.harness import MatrixRunner
from kill_matrix.operators import PROJECT, SHOOT

from airflow_provider_garden.core import naming
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION

DAG_ID = "kmx_canary"
EXPECTED = {
    "reconcile": "success",
    "backup_sync": "success",
    "backup_deferred": "success",
    "apply_sync": "success",
    "apply_deferred": "success",
    "apply_fails": "failed",
    "apply_unschedulable": "failed",
}
CANARY_USER = "kmx-canary"


def shoot_secrets(kube: KubeClient) -> Iterator[dict[str, Any]]:
    for namespace in (
        naming.project_namespace(PROJECT),
        naming.controlplane_namespace(PROJECT, SHOOT),
    ):
        for secret in kube.list("v1", "Secret", namespace):
            if secret.get("type") == "kubernetes.io/service-account-token":
                continue
            if namespace == naming.project_namespace(PROJECT) and secret["metadata"][
                "name"
            ] != naming.kubeconfig_secret(SHOOT):
                continue  # other shoots' kubeconfigs share the project namespace
            yield secret


def secret_slices(value: bytes) -> list[str]:
    """Distinctive pieces of private material (keys, tokens) in one Secret value."""
    text = value.decode(errors="replace")
    pieces = []
    if "PRIVATE KEY" in text:
        body = "".join(line for line in text.splitlines() if line and "-----" not in line)
        pieces.append(body[40:80])
    if text.lstrip().startswith(("apiVersion", "clusters")):
        config = yaml.safe_load(text) or {}
        for user in config.get("users") or []:
            for field in ("client-key-data", "token"):
                secret = (user.get("user") or {}).get(field)
                if secret and user.get("name") != CANARY_USER:
                    pieces.append(str(secret)[40:80])
    return [p for p in pieces if len(p) >= 32]


def plant_canary(kube: KubeClient, canary: str) -> list[str]:
    """Put the canary into every Secret; return slices of the real secrets found there."""
    real: list[str] = []
    for secret in shoot_secrets(kube):
        data = dict(secret.get("data") or {})
        for key, encoded in list(data.items()):
            value = base64.b64decode(encoded)
            real += secret_slices(value)
            if key.startswith("kubeconfig"):
                config = yaml.safe_load(value)
                config.setdefault("users", []).append(
                    {"name": CANARY_USER, "user": {"token": canary}}
                )
                data[key] = base64.b64encode(yaml.safe_dump(config).encode()).decode()
        data["canary"] = base64.b64encode(canary.encode()).decode()
        meta = secret["metadata"]
        kube.merge_patch("v1", "Secret", meta["name"], {"data": data}, meta["namespace"])
    return real


def surfaces(stack: AirflowStack, kube: KubeClient, run_id: str) -> Iterator[tuple[str, bytes]]:
    """Everything a canary could leak into: (where, content)."""
    api = stack.api
    for ti in api.task_instances(DAG_ID, run_id):
        task = ti["task_id"]
        for attempt in range(1, int(ti["try_number"]) + 1):
            yield (
                f"REST log {task}#{attempt}",
                api.task_logs(DAG_ID, run_id, task, attempt).encode(),
            )
        yield f"REST rendered fields {task}", json.dumps(ti["rendered_fields"]).encode()
        keys = api.xcom_keys(DAG_ID, run_id, task)
        xcom = {key: api.xcom(DAG_ID, run_id, task, key) for key in keys}
        yield f"REST XCom {task}", json.dumps(xcom, default=str).encode()
    shoot = kube.get(SHOOT_API_VERSION, "Shoot", SHOOT, naming.project_namespace(PROJECT))
    yield "Shoot status (recorded errors)", json.dumps(shoot.get("status")).encode()
    # Task and component logs, and the metadata database's files (XCom, rendered
    # fields, trigger arguments, ...) as PostgreSQL stores them.
    for path in sorted(stack.home.rglob("*")):
        if path.is_file():
            yield f"file {path.relative_to(stack.home)}", path.read_bytes()


def test_a_canary_in_every_secret_never_leaves_its_mount(
    matrix_runner: MatrixRunner,
    airflow_stack: AirflowStack,
    airflow_seed: KubeClient,
    e2e_report: list[str],
) -> None:
    matrix_runner.shoot()
    api, kube = airflow_stack.api, airflow_seed
    canary = f"canary-{secrets.token_hex(16)}"
    real = plant_canary(kube, canary)
    assert real, "no private keys found in the shoot's Secrets: the canary would prove little"

    run_id = matrix_runner.trigger(DAG_ID)
    api.wait_run(DAG_ID, run_id, timeout=600)
    states = {ti["task_id"]: ti["state"] for ti in api.task_instances(DAG_ID, run_id)}
    assert states == EXPECTED

    searched, size, leaks = 0, 0, []
    for where, content in surfaces(airflow_stack, kube, run_id):
        searched, size = searched + 1, size + len(content)
        leaks += [
            f"{where}: {'the canary' if needle == canary else 'a private key or token'}"
            for needle in (canary, *real)
            if needle.encode() in content
        ]
    e2e_report.append(
        f"canary: {searched} surfaces, {size / 2**20:.1f} MiB searched for the canary and "
        f"{len(real)} slices of private keys and tokens: {len(leaks)} leaks"
    )
    assert not leaks, "\n".join(leaks)


def test_canary_helpers_find_private_material() -> None:
    pem = b"-----BEGIN EC PRIVATE KEY-----\n" + b"A" * 64 + b"\n" + b"B" * 64 + b"\n-----END"
    assert secret_slices(pem) == ["A" * 24 + "B" * 16]
    config = {"users": [{"name": "admin", "user": {"client-key-data": "k" * 90}}]}
    assert secret_slices(yaml.safe_dump({"apiVersion": "v1", **config}).encode()) == ["k" * 40]
