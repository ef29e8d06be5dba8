"""Cordon and drain nodes of a shoot through the Eviction API.

The eviction subresource is what makes a drain safe: the API server refuses
(HTTP 429) an eviction that would break a PodDisruptionBudget, so the drain
waits and asks again while the evicted pods' replacements start elsewhere. The
choice of pods (DaemonSet pods left alone, pods with volumes one at a time) is
:mod:`core.drain`'s; this module only talks to the API.

Bare pods (no controller recreates them) and pods with emptyDir data are not
evicted unless forced: the drain refuses before cordoning, naming them.

A drain that does not finish within its timeout stops with a message naming
the pods left and the budgets in the way; the nodes stay cordoned, so a re-run
carries on. Only when forced does it delete the remaining pods outright.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from kubernetes import client as k8s_client
from kubernetes.client.exceptions import ApiException

from airflow_provider_garden.core import drain as plan
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.errors import (
    ApiError,
    NotFound,
    ServerError,
    TooManyRequests,
    from_exception,
)

log = logging.getLogger(__name__)
_LISTED = 5


class DrainTimeout(RuntimeError):
    """Pods were still on the nodes when the drain timeout passed."""


class DrainRefused(RuntimeError):
    """Pods on the nodes would be lost by eviction (bare, emptyDir data); not forced."""


class DrainStopped(RuntimeError):
    """The drain was told to stop (the rollout stopped); its nodes stay cordoned."""


@dataclass(frozen=True, kw_only=True)
class DrainOptions:
    timeout: float  # seconds
    force: bool = False
    interval: float = 1.0


@dataclass
class DrainReport:
    evicted: int = 0
    refused: int = 0  # 429 answers: a budget said "not now"
    forced: int = 0  # pods deleted past their budget after the timeout (force only)
    seconds: float = 0.0


class Drainer:
    def __init__(
        self,
        *,
        shoot: KubeClient,
        options: DrainOptions,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shoot = shoot
        self.options = options
        # Drains run in threads beside the rollout; setting this ends each at its next look.
        self.stop = stop or threading.Event()
        self._clock = clock
        self._core = k8s_client.CoreV1Api(shoot.api)

    def cordon(self, node: str) -> None:
        self.shoot.merge_patch("v1", "Node", node, {"spec": {"unschedulable": True}})

    def drain(self, nodes: Sequence[str], *, unready: Collection[str] = ()) -> DrainReport:
        """Cordon ``nodes``, evict their pods, return once none is left.

        Pods that terminate on an ``unready`` node never finish (no kubelet
        confirms it), so once evicted they count as gone.
        """
        if not self.options.force:
            self.refuse_unsafe(nodes)
        for node in nodes:
            self.cordon(node)
        report = DrainReport()
        deadline = self._clock() + self.options.timeout
        blocked: dict[str, str] = {}
        while True:
            pods = [
                p
                for p in plan.pods_to_drain(self.shoot.list("v1", "Pod"), nodes)
                if not (plan.is_terminating(p) and p["spec"]["nodeName"] in unready)
            ]
            if not pods:
                return report
            for pod in plan.next_evictions(pods):
                refusal = self._evict(pod)
                if refusal is None:
                    report.evicted += 1
                    blocked.pop(plan.pod_key(pod), None)
                else:
                    report.refused += 1
                    blocked[plan.pod_key(pod)] = refusal
            if self._clock() >= deadline:
                if not self.options.force:
                    raise DrainTimeout(_timeout_message(nodes, pods, blocked, self.options))
                for pod in pods:
                    if not plan.is_terminating(pod):
                        meta = pod["metadata"]
                        self.shoot.delete("v1", "Pod", meta["name"], meta["namespace"])
                        report.forced += 1
                log.warning("drain of %s: deleted %d pod(s) past their budgets", nodes, len(pods))
            if self.stop.wait(self.options.interval):
                raise DrainStopped(f"drain of {', '.join(nodes)} stopped; the nodes stay cordoned")

    def refuse_unsafe(self, nodes: Sequence[str]) -> None:
        """Raise DrainRefused naming the pods only a forced drain may evict."""
        unsafe = plan.unsafe_evictions(plan.pods_to_drain(self.shoot.list("v1", "Pod"), nodes))
        if unsafe:
            raise DrainRefused(
                f"drain of {', '.join(nodes)} refused: evicting {len(unsafe)} pod(s) would "
                f"lose them or their data: {', '.join(unsafe)}. Pass --force-drain to evict "
                "them anyway"
            )

    def _evict(self, pod: plan.Obj) -> str | None:
        """Ask for one eviction; None when granted (or the pod is gone), else why not."""
        meta = pod["metadata"]
        body = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
        }
        try:
            self._core.create_namespaced_pod_eviction(meta["name"], meta["namespace"], body)
        except ApiException as exc:
            err = from_exception(exc)
            if isinstance(err, NotFound):
                return None
            if isinstance(err, TooManyRequests | ServerError):
                # 429: a budget is exhausted; 500: the pod matches several budgets
                # (the API server refuses to pick one); 503: try again.
                return _reason(err)
            raise err from None
        return None


def _reason(err: ApiError) -> str:
    causes = [c.get("message", "") for c in (err.status.get("details") or {}).get("causes") or []]
    return "; ".join(c for c in causes if c) or err.message or f"HTTP {err.code}"


def _timeout_message(
    nodes: Sequence[str], pods: Sequence[plan.Obj], blocked: dict[str, str], opts: DrainOptions
) -> str:
    left = sorted(plan.pod_key(p) for p in pods)
    listed = ", ".join(left[:_LISTED]) + (" ..." if len(left) > _LISTED else "")
    reasons = sorted(set(blocked.values()))
    why = f"; evictions refused: {' | '.join(reasons)}" if reasons else ""
    return (
        f"drain of {', '.join(nodes)} timed out after {opts.timeout:.0f}s with {len(left)} "
        f"pod(s) left ({listed}){why}. The machines stay cordoned: re-run to continue, "
        "or pass --force-drain to delete the pods past their budgets"
    )
