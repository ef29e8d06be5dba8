"""Helpers of the machine tests: shoots with a pool, a workload, the agent, a watcher."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faults import fault
from sampling import SampleLedger, Window, sampling

from airflow_provider_garden.agent.shoot_access import client_from_kubeconfig
from airflow_provider_garden.agent.shoot_delete import delete
from airflow_provider_garden.agent.shoot_reconcile import reconcile
from airflow_provider_garden.core import naming
from airflow_provider_garden.core.settings import DEFAULT_NAMESPACE
from airflow_provider_garden.core.shoot_resource import to_resource
from airflow_provider_garden.core.shoot_spec import MachineImage, Worker, new_spec
from airflow_provider_garden.drivers.base import LABEL_IMAGE_VERSION, LABEL_POOL
from airflow_provider_garden.drivers.local import BOOT_DELAY_ANNOTATION, NEVER_READY_ANNOTATION
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION
from airflow_provider_garden.kube.shoots import Shoots
from airflow_provider_garden.localseed.profile import local_profile

AGENT = str(Path(sys.executable).with_name("garden-agent"))
PROJECT = "machines"
POOL = "pool-a"
OLD, NEW = "1592.1", "1592.2"
HOLDER = "machines-tests"


@dataclass(frozen=True)
class Shoot:
    seed: KubeClient
    name: str
    api: KubeClient  # the shoot's API, as the host reaches it

    @property
    def project(self) -> str:
        return PROJECT

    def resource(self) -> dict[str, Any]:
        return Shoots(self.seed).get(PROJECT, self.name)

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = self.resource().get("status") or {}
        return status

    def set_version(self, version: str) -> None:
        shoot = self.resource()
        shoot["spec"]["workers"][0]["machine"]["image"]["version"] = version
        self.seed.merge_patch(
            SHOOT_API_VERSION,
            "Shoot",
            self.name,
            {"spec": {"workers": shoot["spec"]["workers"]}},
            naming.project_namespace(PROJECT),
        )

    def nodes(self) -> list[dict[str, Any]]:
        return self.api.list("v1", "Node", label_selector=f"{LABEL_POOL}={POOL}")


def create_shoot(
    seed: KubeClient, name: str, *, machines: int, surge: int = 2, never_ready: str = ""
) -> Shoot:
    """A shoot whose pool of ``machines`` (image OLD) is Ready, reconciled from the host."""
    annotations = {BOOT_DELAY_ANNOTATION: "1s"}
    if never_ready:
        annotations[NEVER_READY_ANNOTATION] = never_ready
    pool = Worker(
        name=POOL,
        machine_type="local",
        image=MachineImage(name="gardenlinux", version=OLD),
        minimum=machines,
        maximum=machines + surge,
        max_surge=surge,
        max_unavailable=0,
    )
    spec = new_spec(PROJECT, name, local_profile().kubernetes_versions[0], workers=[pool])
    resource = to_resource(spec, api_version=SHOOT_API_VERSION, annotations=annotations)
    seed.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": naming.project_namespace(PROJECT)},
        }
    )
    shoots = Shoots(seed)
    shoots.apply(resource)
    reconcile(
        seed,
        shoots,
        PROJECT,
        name,
        holder=HOLDER,
        garden_namespace=DEFAULT_NAMESPACE,
    )
    secret = seed.get(
        "v1", "Secret", naming.kubeconfig_secret(name), resource["metadata"]["namespace"]
    )
    api = client_from_kubeconfig(base64.b64decode(secret["data"]["kubeconfig-external"]))
    return Shoot(seed=seed, name=name, api=api)


def delete_shoot(shoot: Shoot) -> None:
    delete(shoot.seed, Shoots(shoot.seed), PROJECT, shoot.name, holder=HOLDER)


def deploy_workload(
    shoot: Shoot, *, replicas: int, min_available: int, pin_to: str | None = None
) -> None:
    """``web``: ``replicas`` pods spread over the machines, a budget of ``min_available``.

    ``pin_to`` an image version: the pods run only on machines of that version, so
    replacements of evicted pods find no place once those machines are cordoned.
    """
    labels = {"app": "web"}
    selector = {LABEL_IMAGE_VERSION: pin_to} if pin_to else {}
    shoot.api.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [{"name": "web", "image": "registry.k8s.io/pause:3.10"}],
                        "terminationGracePeriodSeconds": 1,
                        "nodeSelector": selector,
                    },
                },
            },
        }
    )
    shoot.api.apply(
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"minAvailable": min_available, "selector": {"matchLabels": labels}},
        }
    )
    allowed = replicas - min_available

    def settled() -> bool:
        pdb = shoot.api.get("policy/v1", "PodDisruptionBudget", "web", "default")
        status = pdb.get("status") or {}
        return (
            running_replicas(shoot.api) == replicas
            and status.get("currentHealthy") == replicas
            and status.get("disruptionsAllowed") == allowed
        )

    wait_until("workload Running and its budget computed", settled, timeout=120)


def running_replicas(api: KubeClient) -> int:
    pods = api.list("v1", "Pod", "default", label_selector="app=web")
    return sum(
        (p.get("status") or {}).get("phase") == "Running"
        and not p["metadata"].get("deletionTimestamp")
        and any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in (p.get("status") or {}).get("conditions") or []
        )
        for p in pods
    )


def is_ready(node: dict[str, Any]) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def version_of(node: dict[str, Any]) -> str:
    return str(node["metadata"]["labels"][LABEL_IMAGE_VERSION])


def wait_until(what: str, probe: Callable[[], bool], *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f}s waiting for {what}"
        time.sleep(0.5)


# --- the agent ---------------------------------------------------------------------------
@dataclass
class AgentRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def result(self) -> dict[str, Any]:
        assert self.returncode == 0, self.stderr[-4000:]
        parsed: dict[str, Any] = json.loads(self.stdout)
        return parsed


def rollout_argv(seed_kubeconfig: Path, shoot: Shoot, *args: str) -> list[str]:
    return [
        AGENT,
        "--kubeconfig",
        str(seed_kubeconfig),
        "machines",
        "rollout",
        *("--project", PROJECT, "--name", shoot.name, "--pool", POOL),
        *("--interval", "0.5"),
        *args,
    ]


def agent_env() -> dict[str, str]:
    # A shell run: the shoot's external kubeconfig, never in-cluster credentials.
    return {k: v for k, v in os.environ.items() if k != "KUBERNETES_SERVICE_HOST"}


def rollout(seed_kubeconfig: Path, shoot: Shoot, *args: str, timeout: float = 600) -> AgentRun:
    out = subprocess.run(
        rollout_argv(seed_kubeconfig, shoot, *args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=agent_env(),
    )
    return AgentRun(out.returncode, out.stdout, out.stderr)


# --- the watcher ----------------------------------------------------------------------------
# Lost samples while the pool is at rest only blur the picture; past this share the
# watcher was too often blind for "never below the floor" to mean much.
MAX_LOST_SHARE = 0.02


@dataclass(frozen=True)
class PoolSample:
    at: float
    machines: int
    available: int  # Ready and schedulable machines
    running: int  # Running, Ready, not terminating replicas of web


@dataclass
class Observed:
    """What the rollout watcher saw of the pool, and what it missed (its ledger).

    The critical window is the pool in motion: from the last sample that saw it at
    rest (as many machines as at the start, all Ready and schedulable) before it
    began to change, to the first that saw it at rest again after. No sample may be
    lost there; outside it, at most MAX_LOST_SHARE of them.
    """

    ledger: SampleLedger = field(
        default_factory=lambda: SampleLedger("rollout watcher", max_lost_share=MAX_LOST_SHARE)
    )
    pool: list[PoolSample] = field(default_factory=list)
    size: int = 0  # the pool's machines at rest (its minimum)

    @property
    def samples(self) -> int:
        return len(self.pool)

    @property
    def max_machines(self) -> int:
        return max((s.machines for s in self.pool), default=0)

    @property
    def min_available(self) -> int:
        return min((s.available for s in self.pool), default=0)

    @property
    def min_running(self) -> int:
        return min((s.running for s in self.pool), default=0)

    def moving(self) -> Window:
        pool = list(self.pool)
        if not pool:
            return Window("the whole watch (no sample)", float("-inf"), float("inf"))
        at_rest = [s.machines == s.available == self.size for s in pool]
        if all(at_rest):
            return Window("the whole watch (the pool never moved)", float("-inf"), float("inf"))
        first = at_rest.index(False)
        last = len(at_rest) - 1 - at_rest[::-1].index(False)
        start = pool[first - 1].at if first else float("-inf")
        end = pool[last + 1].at if last + 1 < len(pool) else float("inf")
        return Window("while the pool moved", start, end)

    def problems(
        self, *, most_machines: int, fewest_available: int, fewest_running: int
    ) -> list[str]:
        """Every invariant the watch breached, and every sample it lost where it mattered."""
        found = self.ledger.problems([self.moving()])
        if self.max_machines > most_machines:
            found.append(f"{self.max_machines} machines at once (at most {most_machines})")
        if self.min_available < fewest_available:
            found.append(f"{self.min_available} machines available (floor {fewest_available})")
        if self.min_running < fewest_running:
            found.append(f"{self.min_running} replicas of web Running (floor {fewest_running})")
        return found

    def __str__(self) -> str:
        window = self.moving()
        return (
            f"{self.ledger.summary()}; {self.ledger.taken_in(window)} samples {window.what}; "
            f"machines at most {self.max_machines}, available at least {self.min_available}, "
            f"replicas Running at least {self.min_running}"
        )


@contextmanager
def watching(shoot: Shoot, *, every: float = 0.2) -> Iterator[Observed]:
    """Sample the shoot from a thread of its own while the block runs."""
    seen = Observed(size=int(shoot.resource()["spec"]["workers"][0]["minimum"]))

    def sample() -> float:
        nodes = shoot.nodes()
        running = running_replicas(shoot.api)
        now = time.monotonic()
        available = sum(
            is_ready(n)
            and not (n.get("spec") or {}).get("unschedulable")
            and not n["metadata"].get("deletionTimestamp")
            for n in nodes
        )
        seen.pool.append(PoolSample(now, len(nodes), available, running))
        return now

    with sampling("rollout-watcher", sample, seen.ledger, every=every):
        if fault("below-floor"):
            wait_until("the watcher's first sample", lambda: bool(seen.pool), timeout=60)
            node = next(n for n in shoot.nodes() if is_ready(n))
            shoot.api.merge_patch(
                "v1", "Node", node["metadata"]["name"], {"spec": {"unschedulable": True}}
            )
        yield seen
    print(seen)  # sample counts, shown by pytest -rA or -s
