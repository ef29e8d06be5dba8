"""`garden-agent care`: observe every shoot of the fleet, write what was found.

One pod per run checks the whole fleet: the seed's side (control-plane workloads
and their pods) is read in three fleet-wide lists, then each shoot's own API
(``/readyz``, nodes, kube-system, webhooks) is read by a thread pool, one shoot
per thread. ``core.care`` judges; each shoot gets its conditions, constraints and
status label in one status write (resourceVersion-checked) and, when it changed,
one label patch. A shoot whose observation fails is written ``Unknown`` where it
could not be seen; it never stops the others.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import logging
import os
import socket
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from airflow_provider_garden.agent.options import positive
from airflow_provider_garden.agent.shoot_access import client_from_kubeconfig, kubeconfig_key
from airflow_provider_garden.core import care, naming
from airflow_provider_garden.core.etcd_data_check import pod_refusal
from airflow_provider_garden.core.shoot_spec import ShootSpec, parse_shoot
from airflow_provider_garden.core.status import ConditionType, ShootStatus
from airflow_provider_garden.drivers.base import LABEL_IMAGE_NAME, LABEL_IMAGE_VERSION, LABEL_POOL
from airflow_provider_garden.kube import lease
from airflow_provider_garden.kube.client import Backoff, KubeClient, Manifest
from airflow_provider_garden.kube.shoots import Shoots

log = logging.getLogger(__name__)
SHOOT_LABEL = "garden.airflow.io/shoot"
PROJECT_LABEL = "garden.airflow.io/project"
# One retry for a shoot's API: a probe that waits out a long backoff reports late.
SHOOT_BACKOFF = Backoff(attempts=2, first=0.5, most=1.0)
SHOOT_TIMEOUT = 10.0
_WEBHOOKS = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")
# A run's time: garden_care runs every 5 minutes with a 5-minute dagrun_timeout, and
# its pod needs some of that to start and to report.
TIME_BUDGET = 240.0


@dataclass(frozen=True)
class CareTarget:
    """One shoot as this run saw it: what a per-shoot hook gets after observation.

    ``shoot_api`` is None when the shoot's API could not be reached.
    """

    seed: KubeClient
    shoot: Manifest
    spec: ShootSpec
    shoot_api: KubeClient | None
    observation: care.Observation
    verdict: care.Verdict
    deadline: float | None = None  # monotonic seconds: when a hook must have returned


@dataclass(frozen=True)
class HookResult:
    """What a hook did to one shoot: a note for the run's result, and the machines it
    created for pools below their minimum (pool -> names), which the shoot's
    ``EveryNodeReady`` then names."""

    note: str = ""
    refilled: Mapping[str, Sequence[str]] = field(default_factory=dict)


# Called once per shoot after it was observed and judged, before its status is
# written (machine health plugs in here); returns what it did, or None. An exception
# is reported for that shoot and does not stop the run.
ShootHook = Callable[[CareTarget], HookResult | None]
# Time kept back from a hook's deadline for the shoot's status write after it.
WRITE_MARGIN = 15.0


class NotHealed(RuntimeError):
    """Machine health of one shoot stopped: its Lease was lost (the message says to whom)."""


def heal_machines(target: CareTarget) -> HookResult | None:
    """Machine health, driven from care: replace machines NotReady past their pool's
    machineHealthTimeout and refill pools below their minimum. Only a shoot with a node
    seen not Ready or a pool seen short of nodes is handed over (the healer takes the
    shoot's Lease only when it has work).

    One pod heals many shoots: losing one shoot's Lease stops that shoot's healing
    (NotHealed, naming the holder), never the pod (lease.StopWork). Healing is bounded
    by the run's deadline; what is in flight then continues next run (the note says so).
    """
    from airflow_provider_garden.agent.machine_health import HealOptions, heal_shoot

    if target.shoot_api is None or not care.needs_machine_health(target.observation):
        return None
    stop = lease.StopWork()
    deadline = None if target.deadline is None else target.deadline - WRITE_MARGIN
    result = heal_shoot(
        stop.guard(target.seed),
        stop.guard(target.shoot_api),
        target.spec.project,
        target.spec.name,
        holder=f"{socket.gethostname()}/{os.getpid()}/care",
        options=HealOptions(deadline=deadline),
        on_lease_lost=stop,
    )
    log.info("care %s/%s: machine health %s", target.spec.project, target.spec.name, result)
    if result.lost:
        raise NotHealed(f"machines not healed: {result.lost}")
    refilled = {pool: [r.machine for r in records] for pool, records in result.refilled.items()}
    return HookResult(note=result.continues, refilled=refilled)


# The hooks the care verb runs for every shoot.
SHOOT_HOOKS: tuple[ShootHook, ...] = (heal_machines,)
# From the admin kubeconfig Secret's data to a client of the shoot's API.
ShootClientFactory = Callable[[Mapping[str, str]], KubeClient]


def _default_shoot_client(data: Mapping[str, str]) -> KubeClient:
    key = kubeconfig_key()
    if key not in data:
        raise LookupError(f"the kubeconfig Secret has no key {key!r}: reconcile the shoot")
    return client_from_kubeconfig(
        base64.b64decode(data[key]), timeout=SHOOT_TIMEOUT, backoff=SHOOT_BACKOFF
    )


# --- reading objects into observations -----------------------------------------------


def _crash_looping(pod: Manifest) -> bool:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return any(
        ((s.get("state") or {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff"
        for s in statuses
    )


def workload(kind: str, obj: Manifest, pods: Iterable[Manifest] = ()) -> care.Workload:
    """A Deployment/StatefulSet/DaemonSet as a ``care.Workload``; ``pods``: its namespace's.

    ``kind`` is given: the items of a list carry no kind of their own.
    """
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if kind == "DaemonSet":
        desired, ready = status.get("desiredNumberScheduled", 0), status.get("numberReady", 0)
    else:
        desired, ready = spec.get("replicas", 1), status.get("readyReplicas", 0)
    selector = ((spec.get("selector") or {}).get("matchLabels")) or {}
    mine = [
        p
        for p in pods
        if selector
        and all((p["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
    ]
    return care.Workload(
        kind=kind,
        name=obj["metadata"]["name"],
        desired=int(desired or 0),
        ready=int(ready or 0),
        crash_looping=tuple(sorted(p["metadata"]["name"] for p in mine if _crash_looping(p))),
        data_lost=next((r for r in map(pod_refusal, mine) if r), ""),
    )


def node(obj: Manifest) -> care.Node:
    labels = obj["metadata"].get("labels") or {}
    conditions = (obj.get("status") or {}).get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    return care.Node(
        name=obj["metadata"]["name"],
        pool=labels.get(LABEL_POOL, ""),
        ready=ready,
        image_name=labels.get(LABEL_IMAGE_NAME, ""),
        image_version=labels.get(LABEL_IMAGE_VERSION, ""),
        deleting=bool(obj["metadata"].get("deletionTimestamp")),
    )


def webhooks(kind: str, configuration: Manifest) -> list[care.Webhook]:
    out = []
    for hook in configuration.get("webhooks") or []:
        resources = tuple(
            r for rule in hook.get("rules") or [] for r in rule.get("resources") or []
        )
        out.append(
            care.Webhook(
                configuration=f"{kind}/{configuration['metadata']['name']}",
                name=hook.get("name", ""),
                fails_closed=hook.get("failurePolicy", "Fail") == "Fail",
                resources=resources,
            )
        )
    return out


def system_workloads(api: KubeClient) -> tuple[care.Workload, ...]:
    """The shoot's kube-system Deployments, StatefulSets and DaemonSets (4 calls)."""
    pods = api.list("v1", "Pod", "kube-system")
    return tuple(
        workload(kind, o, pods)
        for kind in ("Deployment", "StatefulSet", "DaemonSet")
        for o in api.list("apps/v1", kind, "kube-system")
    )


def _error(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"[:300]


@dataclass(frozen=True)
class SeedView:
    """The seed's side of the fleet from three lists, grouped by shoot (project, name)."""

    workloads: Mapping[tuple[str, str], Sequence[care.Workload]]
    error: str = ""

    @classmethod
    def read(cls, seed: KubeClient) -> SeedView:
        try:
            found = [
                (kind, o)
                for kind in ("StatefulSet", "Deployment")
                for o in seed.list("apps/v1", kind, label_selector=SHOOT_LABEL)
            ]
            pods = seed.list("v1", "Pod", label_selector=SHOOT_LABEL)
        except Exception as err:  # the whole seed view is unknown, not the run failed
            return cls({}, error=f"the seed's control-plane workloads: {_error(err)}")
        by_namespace: dict[str, list[Manifest]] = defaultdict(list)
        for p in pods:
            by_namespace[p["metadata"]["namespace"]].append(p)
        grouped: dict[tuple[str, str], list[care.Workload]] = defaultdict(list)
        for kind, o in found:
            labels = o["metadata"].get("labels") or {}
            key = (labels.get(PROJECT_LABEL, ""), labels.get(SHOOT_LABEL, ""))
            grouped[key].append(workload(kind, o, by_namespace[o["metadata"]["namespace"]]))
        return cls(grouped)

    def of(self, project: str, name: str) -> tuple[Sequence[care.Workload] | None, str]:
        if self.error:
            return None, self.error
        return self.workloads.get((project, name), ()), ""


def _ca_not_after(data: Mapping[str, str]) -> dt.datetime:
    pem = base64.b64decode(data["ca.crt"])
    return x509.load_pem_x509_certificate(pem).not_valid_after_utc


def observe(
    seed: KubeClient,
    spec: ShootSpec,
    seed_view: SeedView,
    shoot_client: ShootClientFactory = _default_shoot_client,
) -> tuple[care.Observation, KubeClient | None]:
    """Everything care judges about one shoot (and its client, for hooks)."""
    project, name = spec.project, spec.name
    pools = tuple(
        care.Pool(
            name=w.name,
            minimum=w.minimum,
            image_name=w.image.name,
            image_version=w.image.version,
        )
        for w in spec.workers
    )
    control_plane, cp_error = seed_view.of(project, name)
    fields: dict[str, Any] = {
        "pools": pools,
        "control_plane": control_plane,
        "control_plane_error": cp_error,
    }
    secret = f"{naming.project_namespace(project)}/{naming.kubeconfig_secret(name)}"
    try:
        data: Mapping[str, str] = (
            seed.get(
                "v1", "Secret", naming.kubeconfig_secret(name), naming.project_namespace(project)
            ).get("data")
            or {}
        )
    except Exception as err:
        data = {}
        fields["ca_error"] = f"reading Secret {secret}: {_error(err)}"
    if data:
        try:
            fields["ca_not_after"] = _ca_not_after(data)
        except Exception as err:
            fields["ca_error"] = f"ca.crt of Secret {secret}: {_error(err)}"
    try:
        api: KubeClient | None = shoot_client(data)
    except Exception as err:
        api, reason = None, f"no client for the shoot: {_error(err)}"
        for what in ("readyz", "nodes", "system", "webhooks"):
            fields[f"{what}_error"] = reason
        return care.Observation(**fields), None
    assert api is not None
    try:
        fields["readyz"] = str(api.raw("GET", "/readyz"))
    except Exception as err:
        fields["readyz_error"] = _error(err)
    try:
        fields["nodes"] = tuple(node(n) for n in api.list("v1", "Node"))
    except Exception as err:
        fields["nodes_error"] = f"listing nodes: {_error(err)}"
    try:
        fields["system"] = system_workloads(api)
    except Exception as err:
        fields["system_error"] = f"listing kube-system: {_error(err)}"
    try:
        fields["webhooks"] = tuple(
            w
            for kind in _WEBHOOKS
            for c in api.list("admissionregistration.k8s.io/v1", kind)
            for w in webhooks(kind, c)
        )
    except Exception as err:
        fields["webhooks_error"] = f"listing webhooks: {_error(err)}"
    return care.Observation(**fields), api


# --- the run -----------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    thresholds: Mapping[ConditionType, dt.timedelta]
    parallelism: int = 8
    project: str | None = None  # only this project's shoots
    deadline: float | None = None  # monotonic seconds: the run's end (bounds healing)


def care_shoot(
    seed: KubeClient,
    shoots: Shoots,
    manifest: Manifest,
    seed_view: SeedView,
    options: Options,
    *,
    hooks: Sequence[ShootHook] = (),
    shoot_client: ShootClientFactory = _default_shoot_client,
) -> dict[str, Any]:
    """Observe, judge, call the hooks, write; a summary line for the run's result."""
    meta = manifest["metadata"]
    where = f"{meta['namespace']}/{meta['name']}"
    try:
        spec = parse_shoot(manifest)
        old = ShootStatus.from_shoot(manifest).conditions
    except Exception as err:
        log.warning("care %s: unreadable Shoot: %s", where, err)
        return {"shoot": where, "error": f"unreadable Shoot: {_error(err)}"}
    observation, api = observe(seed, spec, seed_view, shoot_client)
    verdict = care.judge(observation, old, now=shoots.clock(), thresholds=options.thresholds)
    hook_errors, notes = [], []
    target = CareTarget(seed, manifest, spec, api, observation, verdict, options.deadline)
    for hook in hooks:
        try:
            done = hook(target)
        except Exception as err:
            log.exception("care %s: hook %s failed", where, getattr(hook, "__name__", hook))
            hook_errors.append(_error(err))
            continue
        if done is not None:
            if done.note:
                notes.append(done.note)
            verdict = care.with_refills(verdict, done.refilled)
    shoots.write_care(
        spec.project,
        spec.name,
        verdict.conditions,
        verdict.constraints,
        label=(care.STATUS_LABEL, verdict.label.value),
    )
    unhealthy = {
        c.type.value: f"{c.status.value}: {c.message}"
        for c in verdict.conditions
        if c.status.value != "True"
    }
    log.info("care %s: %s %s", where, verdict.label.value, unhealthy or "")
    out: dict[str, Any] = {"shoot": where, "status": verdict.label.value}
    if unhealthy:
        out["conditions"] = unhealthy
    if hook_errors:
        out["hookErrors"] = hook_errors
    if notes:
        out["notes"] = notes
    return out


def care_fleet(
    seed: KubeClient,
    shoots: Shoots,
    options: Options,
    *,
    hooks: Sequence[ShootHook] = (),
    shoot_client: ShootClientFactory = _default_shoot_client,
) -> dict[str, Any]:
    """One care run over every Shoot (or one project's), ``options.parallelism`` at a time."""
    fleet = [
        s
        for s in shoots.list(options.project)
        if not s["metadata"].get("deletionTimestamp")  # delete owns a shoot's last words
    ]
    seed_view = SeedView.read(seed)

    def one(manifest: Manifest) -> dict[str, Any]:
        try:
            return care_shoot(
                seed, shoots, manifest, seed_view, options, hooks=hooks, shoot_client=shoot_client
            )
        except Exception as err:  # a failed write of one shoot is its own line, not the run's
            meta = manifest["metadata"]
            log.exception("care %s/%s failed", meta["namespace"], meta["name"])
            return {"shoot": f"{meta['namespace']}/{meta['name']}", "error": _error(err)}

    with ThreadPoolExecutor(max_workers=max(1, options.parallelism)) as pool:
        results = list(pool.map(one, fleet))
    return summary(results)


_SUMMARY_LINES = 5  # per list: the result travels in a 4 KiB termination message
_LINE = 160


def summary(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The run's result, small enough for the termination message (the log has every line)."""
    counts: dict[str, int] = defaultdict(int)
    for r in results:
        counts[r.get("status", "error")] += 1
    failed = [r for r in results if "error" in r or "hookErrors" in r]
    unhealthy = [r for r in results if r.get("status") in ("unhealthy", "unknown")]
    noted = [r for r in results if r.get("notes")]

    def line(r: Mapping[str, Any], what: object) -> str:
        return f"{r['shoot']}: {what}"[:_LINE]

    return {
        "shoots": len(results),
        "counts": dict(counts),
        "errorCount": len(failed),
        "errors": [line(r, r.get("error") or r.get("hookErrors")) for r in failed[:_SUMMARY_LINES]],
        "unhealthy": [line(r, r.get("conditions")) for r in unhealthy[:_SUMMARY_LINES]],
        "notes": [line(r, "; ".join(r["notes"])) for r in noted[:_SUMMARY_LINES]],
    }


# --- the verb ----------------------------------------------------------------------


def _threshold(text: str) -> tuple[str, float]:
    kind, sep, seconds = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r}: expected CONDITION=SECONDS")
    try:
        return kind, float(seconds)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: SECONDS must be a number") from None


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Observe every shoot (conditions, constraints, status label) and write the result."""
    try:
        thresholds = care.parse_thresholds(dict(args.threshold or []))
    except ValueError as err:
        raise SystemExit(f"garden-agent care: {err}") from None
    seed = KubeClient.from_kubeconfig(args.kubeconfig)
    options = Options(
        thresholds=thresholds,
        parallelism=args.parallelism,
        project=args.project or None,
        deadline=time.monotonic() + args.time_budget,
    )
    return care_fleet(seed, Shoots(seed), options, hooks=SHOOT_HOOKS)


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``care`` to garden-agent's verbs."""
    p = verbs.add_parser("care", help=run.__doc__)
    p.add_argument("--project", help="only this project's shoots (default: every project)")
    p.add_argument(
        "--parallelism", type=int, default=8, help="shoots observed at once (default: 8)"
    )
    p.add_argument(
        "--time-budget",
        type=positive,
        default=TIME_BUDGET,
        help="seconds this run may take: machine health stops waiting before then and "
        "continues next run (default: %(default).0f, inside garden_care's 5-minute runs)",
    )
    p.add_argument(
        "--threshold",
        type=_threshold,
        action="append",
        metavar="CONDITION=SECONDS",
        help="how long CONDITION may stay Progressing before it is False (repeatable; "
        "defaults: "
        + ", ".join(
            f"{t.value}={d.total_seconds():.0f}" for t, d in care.DEFAULT_THRESHOLDS.items()
        )
        + ")",
    )
    p.set_defaults(run=run)
