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
metadata database's files, nor in what Airflow stored there encrypted (connection
extras, variables, trigger arguments: decrypted with Airflow's own Fernet and the
stack's key, from the live columns and from every token in those files).
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from typing import Any

import yaml
from airflow_api import AirflowApi
from airflow_stack import AirflowStack
from faults import fault
from kill_matrix.fernet_scan import Decrypted, airflow_fernet, encrypted_values
from kill_matrix.harness import MatrixRunner
from kill_matrix.operators import GARDEN_NAMESPACE, PROJECT, SHOOT

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


def why_not(api: AirflowApi, run_id: str, states: dict[str, str], tis: dict[str, Any]) -> str:
    """Each unexpected task's end: the tail of its last try's log and any state mismatch."""
    lines = []
    for task, state in states.items():
        if state == EXPECTED.get(task):
            continue
        tries = int(tis[task]["try_number"])
        log = api.task_logs(DAG_ID, run_id, task, tries).splitlines()[-15:]
        raced = api.stale_defer_exits(DAG_ID, run_id, task)
        lines += [f"{task}: {state} on try {tries}; stale defer-exit events: {raced}", *log]
    return "\n".join(lines)


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
    tis = {ti["task_id"]: ti for ti in api.task_instances(DAG_ID, run_id)}
    states = {task: ti["state"] for task, ti in tis.items()}
    assert states == EXPECTED, why_not(api, run_id, states, tis)
    for task, ti in tis.items():
        if ti["try_number"] > 1:  # only the deferred tasks may retry, and only on the race
            raced = api.stale_defer_exits(DAG_ID, run_id, task)
            assert raced, f"{task} retried and the scheduler's events do not show the race: {ti}"
            e2e_report.append(f"canary: {task} retried after apache/airflow#67287's race")
    kustomize_tasks = [task for task in EXPECTED if task.startswith("apply")]
    namespaces = {GARDEN_NAMESPACE, naming.project_namespace(PROJECT)}
    leaked = matrix_runner.leaked_sources(DAG_ID, run_id, kustomize_tasks, namespaces)
    assert not leaked, f"kustomize source ConfigMaps outlived their pods: {leaked}"

    if fault("canary-in-fernet"):
        # A leak only the decrypted search can see: Airflow encrypts connection extras.
        api.connection_set("kmx_canary_fault", "generic", {"note": canary})

    needles = (canary, *real)
    searched, size, leaks = 0, 0, []
    decrypted = Decrypted()

    def search(where: str, content: bytes) -> None:
        nonlocal searched, size
        searched, size = searched + 1, size + len(content)
        leaks.extend(
            f"{where}: {'the canary' if needle == canary else 'a private key or token'}"
            for needle in needles
            if needle.encode() in content
        )

    with airflow_fernet(airflow_stack.fernet_key) as fernet:
        for where, value in encrypted_values(airflow_stack.postgres.url):
            for plain in decrypted.plaintexts(fernet, value):
                search(f"decrypted {where}", plain)
        live = decrypted.tokens
        for where, content in surfaces(airflow_stack, kube, run_id):
            search(where, content)
            for plain in decrypted.plaintexts(fernet, content):
                search(f"decrypted token in {where}", plain)
    e2e_report.append(
        f"canary: {searched} surfaces, {size / 2**20:.1f} MiB searched for the canary and "
        f"{len(real)} slices of private keys and tokens ({decrypted.tokens} Fernet tokens "
        f"decrypted, {live} of them from live columns, {decrypted.undecryptable} cut or "
        f"foreign): {len(leaks)} leaks"
    )
    # kubernetes_default's extra is always stored encrypted: none decrypted, none searched.
    assert live, "no encrypted value decrypted from the database: the Fernet search saw nothing"
    assert not leaks, "\n".join(leaks)


def test_canary_helpers_find_private_material() -> None:
    pem = b"-----BEGIN EC PRIVATE KEY-----\n" + b"A" * 64 + b"\n" + b"B" * 64 + b"\n-----END"
    assert secret_slices(pem) == ["A" * 24 + "B" * 16]
    config = {"users": [{"name": "admin", "user": {"client-key-data": "k" * 90}}]}
    assert secret_slices(yaml.safe_dump({"apiVersion": "v1", **config}).encode()) == ["k" * 40]


def test_the_fernet_search_reads_what_airflow_encrypted() -> None:
    from airflow.models.connection import Connection
    from cryptography.fernet import Fernet

    with airflow_fernet(Fernet.generate_key().decode()) as fernet:
        stored = Connection(conn_id="c", conn_type="generic", extra='{"note": "canary-x"}')
        token = stored._extra.encode()  # as Airflow writes the column
        assert b"canary-x" not in token
        other = fernet.encrypt(b"second")
        page = b"\x00head" + token + b"\x01" + token + b"tail" + other + b" " + other[:-20]
        decrypted = Decrypted()
        assert decrypted.plaintexts(fernet, page) == [b'{"note": "canary-x"}', b"second"]
        assert (decrypted.tokens, decrypted.undecryptable) == (2, 1)  # the cut one
