"""Shoot care: what was observed of a shoot -> its conditions, constraints and label.

Pure: the agent's care verb observes (seed and shoot APIs) and writes; this module
only judges. A condition that was healthy and is now found unhealthy goes
``Progressing`` first and ``False`` only once it stayed unhealthy for its
threshold (Gardener's care controller does the same, so one slow probe does not
page anyone). What could not be observed is ``Unknown``, never a guess.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from airflow_provider_garden.core.status import (
    Condition,
    ConditionStatus,
    ConditionType,
    Constraint,
    ConstraintType,
    ErrorCode,
)

TRUE, FALSE = ConditionStatus.TRUE, ConditionStatus.FALSE
UNKNOWN, PROGRESSING = ConditionStatus.UNKNOWN, ConditionStatus.PROGRESSING
STATUS_LABEL = "garden.airflow.io/status"
CA_MIN_VALIDITY = dt.timedelta(days=365)
# The control plane's workloads, each as (kind, name), in the order messages name them.
CONTROL_PLANE = (
    ("StatefulSet", "etcd"),
    ("Deployment", "kube-apiserver"),
    ("Deployment", "kube-controller-manager"),
    ("Deployment", "kube-scheduler"),
)
# How long a condition may stay Progressing before it is False.
DEFAULT_THRESHOLDS: Mapping[ConditionType, dt.timedelta] = {
    ConditionType.API_SERVER_AVAILABLE: dt.timedelta(minutes=1),
    ConditionType.CONTROL_PLANE_HEALTHY: dt.timedelta(minutes=1),
    ConditionType.EVERY_NODE_READY: dt.timedelta(minutes=5),
    ConditionType.SYSTEM_COMPONENTS_HEALTHY: dt.timedelta(minutes=1),
}
_LISTED = 5  # unhealthy objects named in one message


class Label(enum.StrEnum):
    """Value of the ``garden.airflow.io/status`` label (for ``kubectl get -l``)."""

    HEALTHY = "healthy"
    PROGRESSING = "progressing"
    UNHEALTHY = "unhealthy"
    UNKNOWN = "unknown"


@dataclass(frozen=True, kw_only=True)
class Workload:
    """A Deployment, StatefulSet or DaemonSet as observed: wanted vs ready replicas."""

    kind: str
    name: str
    desired: int
    ready: int
    # pods of this workload in CrashLoopBackOff (a ready count can lag behind them)
    crash_looping: tuple[str, ...] = ()
    # etcd's data check refused to start etcd on lost data (core/etcd_data_check.py)
    data_lost: str = ""

    def problem(self, *, at_least_one: bool) -> str:
        """Why it is unhealthy, or "" when it is not."""
        if self.data_lost:
            return f"{self.kind} {self.name} is kept down: {self.data_lost}"
        if self.crash_looping:
            return f"{self.kind} {self.name} is crash-looping ({', '.join(self.crash_looping)})"
        if at_least_one and self.desired < 1:
            return f"{self.kind} {self.name} is scaled to 0"
        if self.ready < self.desired:
            return f"{self.kind} {self.name} has {self.ready}/{self.desired} replicas ready"
        return ""


@dataclass(frozen=True, kw_only=True)
class Node:
    name: str
    pool: str
    ready: bool
    image_name: str
    image_version: str
    # deletionTimestamp set: still Ready perhaps, but going; it counts toward no minimum
    deleting: bool = False


@dataclass(frozen=True, kw_only=True)
class Pool:
    """What a worker pool must have: its minimum of Ready nodes on its image."""

    name: str
    minimum: int
    image_name: str
    image_version: str


@dataclass(frozen=True, kw_only=True)
class Webhook:
    configuration: str  # e.g. "ValidatingWebhookConfiguration/policy"
    name: str
    fails_closed: bool  # failurePolicy Fail (the v1 default)
    resources: tuple[str, ...]  # as its rules name them: "pods", "*", "pods/*", "*/*"


@dataclass(frozen=True, kw_only=True)
class Observation:
    """One care run's look at one shoot. ``None`` (with an ``*_error``) = not observed."""

    readyz: str | None = None  # the body of /readyz, "ok" when ready
    readyz_error: str = ""
    control_plane: Sequence[Workload] | None = None
    control_plane_error: str = ""
    nodes: Sequence[Node] | None = None
    nodes_error: str = ""
    system: Sequence[Workload] | None = None
    system_error: str = ""
    webhooks: Sequence[Webhook] | None = None
    webhooks_error: str = ""
    ca_not_after: dt.datetime | None = None
    ca_error: str = ""
    pools: Sequence[Pool] = ()


@dataclass(frozen=True, kw_only=True)
class Verdict:
    conditions: tuple[Condition, ...]
    constraints: tuple[Constraint, ...]
    label: Label
    # The health each condition was found in before thresholds (for the machine seam).
    observed: Mapping[ConditionType, Condition] = field(default_factory=dict)


def _cond(t: ConditionType, s: ConditionStatus, reason: str, message: str) -> Condition:
    return Condition(type=t, status=s, reason=reason, message=message)


def _listed(problems: Sequence[str]) -> str:
    more = f" (and {len(problems) - _LISTED} more)" if len(problems) > _LISTED else ""
    return "; ".join(problems[:_LISTED]) + more


def api_server_available(obs: Observation) -> Condition:
    t = ConditionType.API_SERVER_AVAILABLE
    if obs.readyz is None:
        return _cond(t, FALSE, "HealthzRequestFailed", f"/readyz failed: {obs.readyz_error}")
    if obs.readyz.strip() != "ok":
        return _cond(t, FALSE, "HealthzRequestFailed", f"/readyz answered {obs.readyz[:200]!r}")
    return _cond(t, TRUE, "HealthzRequestSucceeded", "API server /readyz answered ok")


def control_plane_healthy(obs: Observation) -> Condition:
    t = ConditionType.CONTROL_PLANE_HEALTHY
    if obs.control_plane is None:
        return _cond(t, UNKNOWN, "NotObserved", obs.control_plane_error)
    found = {(w.kind, w.name): w for w in obs.control_plane}
    problems = []
    for kind, name in CONTROL_PLANE:
        w = found.get((kind, name))
        problem = f"{kind} {name} is missing" if w is None else w.problem(at_least_one=True)
        if problem:
            problems.append(problem)
    if any(w.data_lost for w in obs.control_plane):
        return Condition(
            type=t,
            status=FALSE,
            reason="EtcdDataLost",
            message=_listed(problems),
            codes=(ErrorCode.ETCD_DATA_LOST,),
        )
    if problems:
        return _cond(t, FALSE, "ControlPlaneUnhealthy", _listed(problems))
    names = ", ".join(name for _, name in CONTROL_PLANE)
    return _cond(t, TRUE, "ControlPlaneRunning", f"{names} are ready")


def every_node_ready(obs: Observation) -> Condition:
    t = ConditionType.EVERY_NODE_READY
    if obs.nodes is None:
        return _cond(t, UNKNOWN, "NotObserved", obs.nodes_error)
    if not obs.pools:
        return _cond(t, TRUE, "NoWorkers", "the shoot has no worker pools")
    problems = []
    for pool in obs.pools:
        nodes = [n for n in obs.nodes if n.pool == pool.name]
        going = sorted(n.name for n in nodes if n.deleting)
        staying = [n for n in nodes if not n.deleting]
        good = [
            n
            for n in staying
            if n.ready and (n.image_name, n.image_version) == (pool.image_name, pool.image_version)
        ]
        if len(good) < pool.minimum:
            not_ready = sorted(n.name for n in staying if not n.ready)
            other = sorted(n.name for n in staying if n.ready and n not in good)
            detail = "".join(
                [
                    f"; not Ready: {', '.join(not_ready)}" if not_ready else "",
                    f"; other image: {', '.join(other)}" if other else "",
                    f"; being deleted: {', '.join(going)}" if going else "",
                ]
            )
            problems.append(
                f"pool {pool.name} has {len(good)}/{pool.minimum} Ready nodes on "
                f"{pool.image_name} {pool.image_version}{detail}"
            )
    if problems:
        return _cond(t, FALSE, "NodesUnhealthy", _listed(problems))
    total = sum(p.minimum for p in obs.pools)
    return _cond(t, TRUE, "EveryNodeReady", f"every pool has its minimum Ready ({total} in all)")


def needs_machine_health(obs: Observation) -> bool:
    """Whether machine health must look at the shoot: a node seen not Ready (it may need
    replacing) or a pool with fewer nodes than its minimum (it needs refilling)."""
    if obs.nodes is None:
        return False
    if any(not n.ready for n in obs.nodes):
        return True
    per_pool = Counter(n.pool for n in obs.nodes if not n.deleting)
    return any(per_pool[p.name] < p.minimum for p in obs.pools)


def with_refills(verdict: Verdict, refilled: Mapping[str, Sequence[str]]) -> Verdict:
    """The verdict with ``EveryNodeReady`` naming the machines machine health created
    (after the observation) for pools below their minimum, as pool -> machine names."""
    if not any(refilled.values()):
        return verdict
    done = "; ".join(
        f"pool {pool} refilled with {', '.join(names)}"
        for pool, names in sorted(refilled.items())
        if names
    )

    def named(c: Condition) -> Condition:
        if c.type is not ConditionType.EVERY_NODE_READY:
            return c
        return replace(c, message=f"{c.message}; {done}")

    return replace(verdict, conditions=tuple(named(c) for c in verdict.conditions))


def system_components_healthy(obs: Observation) -> Condition:
    t = ConditionType.SYSTEM_COMPONENTS_HEALTHY
    if obs.system is None:
        return _cond(t, UNKNOWN, "NotObserved", obs.system_error)
    if not obs.system:
        return _cond(t, TRUE, "NoSystemComponents", "kube-system runs no workloads")
    problems = [p for w in obs.system if (p := w.problem(at_least_one=False))]
    if problems:
        return _cond(t, FALSE, "SystemComponentsUnhealthy", _listed(problems))
    return _cond(
        t, TRUE, "SystemComponentsRunning", f"{len(obs.system)} kube-system workloads are ready"
    )


def with_threshold(
    old: Condition | None, observed: Condition, *, threshold: dt.timedelta, now: dt.datetime
) -> Condition:
    """Gardener's threshold rule: unhealthy goes Progressing, then False after ``threshold``.

    Healthy and Unknown are taken as observed. A zero threshold means straight to False.
    """
    if observed.status is not FALSE or threshold <= dt.timedelta(0):
        return observed
    if old is None or old.status in (TRUE, UNKNOWN):
        return replace(observed, status=PROGRESSING)
    if old.status is PROGRESSING:
        since = old.last_transition_time
        if since is not None and now - since < threshold:
            return replace(observed, status=PROGRESSING)
    return observed


def _rule_matches(pattern: str, resource: str) -> bool:
    """A webhook rule's resource ``pattern`` against ``resource`` ("pods", "pods/eviction"),
    as the API server matches them: "*" is every resource (no subresource), "pods/*" pods
    and each of its subresources, "*/*" everything, "*/eviction" every eviction."""
    want, _, want_sub = pattern.partition("/")
    name, _, sub = resource.partition("/")
    return want in ("*", name) and want_sub in ("*", sub)


def _blocking(webhooks: Sequence[Webhook], resources: frozenset[str] | None) -> list[str]:
    """Fail-closed webhooks matching any of ``resources`` (None: any resource at all)."""

    def matches(w: Webhook) -> bool:
        return resources is None or any(
            _rule_matches(pattern, r) for pattern in w.resources for r in resources
        )

    return sorted(
        f"{w.configuration} webhook {w.name}" for w in webhooks if w.fails_closed and matches(w)
    )


def _constraint(
    t: ConstraintType,
    status: ConditionStatus,
    reason: str,
    message: str,
    codes: tuple[ErrorCode, ...] = (),
) -> Constraint:
    return Constraint(type=t, status=status, reason=reason, message=message, codes=codes)


# What maintenance changes in the shoot: it drains nodes (evicting pods) and replaces them.
_MAINTENANCE_RESOURCES = frozenset({"pods", "pods/eviction", "nodes"})


def _webhook_problem(
    t: ConstraintType, obs: Observation, resources: frozenset[str] | None, blocked: str
) -> Constraint | None:
    """Unknown when the webhooks were not observed, False when a fail-closed one would
    block ``blocked`` (it matches ``resources``); None when no webhook is in the way."""
    if obs.webhooks is None:
        return _constraint(t, UNKNOWN, "NotObserved", obs.webhooks_error)
    blocking = _blocking(obs.webhooks, resources)
    if not blocking:
        return None
    return _constraint(
        t,
        FALSE,
        "ProblematicWebhooks",
        f"failurePolicy Fail {blocked}: {_listed(blocking)}",
        (ErrorCode.PROBLEMATIC_WEBHOOK,),
    )


def hibernation_possible(obs: Observation) -> Constraint:
    """With the workers gone a fail-closed webhook has no backend: it would block waking up."""
    t = ConstraintType.HIBERNATION_POSSIBLE
    problem = _webhook_problem(t, obs, None, "would block hibernation")
    return problem or _constraint(t, TRUE, "NoProblematicWebhooks", "no webhook fails closed")


def maintenance_preconditions(obs: Observation, control_plane: Condition) -> Constraint:
    """Maintenance drains and replaces nodes: it needs a healthy control plane and no
    fail-closed webhook on pods or nodes."""
    t = ConstraintType.MAINTENANCE_PRECONDITIONS_SATISFIED
    blocked = "on pods or nodes would block draining"
    problem = _webhook_problem(t, obs, _MAINTENANCE_RESOURCES, blocked)
    if problem is not None:
        return problem
    if control_plane.status is not TRUE:
        return _constraint(
            t, FALSE, "ControlPlaneUnhealthy", f"control plane: {control_plane.message}"
        )
    return _constraint(
        t, TRUE, "PreconditionsSatisfied", "control plane healthy, no webhook blocks"
    )


def ca_validity(obs: Observation, *, now: dt.datetime) -> Constraint:
    t = ConstraintType.CA_CERTIFICATE_VALIDITIES_ACCEPTABLE
    if obs.ca_not_after is None:
        return _constraint(t, UNKNOWN, "NotObserved", obs.ca_error)
    left = obs.ca_not_after - now
    until = obs.ca_not_after.strftime("%Y-%m-%d")
    if left < CA_MIN_VALIDITY:
        return _constraint(
            t,
            FALSE,
            "ExpiringCertificateAuthority",
            f"the shoot's CA expires on {until}, in {left.days} days (< 365): rotate it",
        )
    return _constraint(
        t, TRUE, "CertificateAuthoritiesValid", f"the shoot's CA is valid until {until}"
    )


def status_label(conditions: Sequence[Condition]) -> Label:
    """unhealthy if any is False, else progressing if any is, else unknown if any is, else
    healthy (and unknown when nothing was judged)."""
    statuses = {c.status for c in conditions}
    if not statuses:
        return Label.UNKNOWN
    for status, label in (
        (FALSE, Label.UNHEALTHY),
        (PROGRESSING, Label.PROGRESSING),
        (UNKNOWN, Label.UNKNOWN),
    ):
        if status in statuses:
            return label
    return Label.HEALTHY


def judge(
    obs: Observation,
    old: Sequence[Condition],
    *,
    now: dt.datetime,
    thresholds: Mapping[ConditionType, dt.timedelta] = DEFAULT_THRESHOLDS,
) -> Verdict:
    """The conditions (thresholds applied against ``old``), constraints and label."""
    observed = {
        c.type: c
        for c in (
            api_server_available(obs),
            control_plane_healthy(obs),
            every_node_ready(obs),
            system_components_healthy(obs),
        )
    }
    previous = {c.type: c for c in old}
    conditions = tuple(
        with_threshold(previous.get(t), c, threshold=thresholds.get(t, dt.timedelta(0)), now=now)
        for t, c in observed.items()
    )
    constraints = (
        hibernation_possible(obs),
        maintenance_preconditions(obs, observed[ConditionType.CONTROL_PLANE_HEALTHY]),
        ca_validity(obs, now=now),
    )
    return Verdict(
        conditions=conditions,
        constraints=constraints,
        label=status_label(conditions),
        observed=observed,
    )


def parse_thresholds(text: Mapping[str, float]) -> dict[ConditionType, dt.timedelta]:
    """``{"ControlPlaneHealthy": 60}`` (seconds) over the defaults; unknown types raise."""
    out = dict(DEFAULT_THRESHOLDS)
    for key, seconds in text.items():
        try:
            kind = ConditionType(key)
        except ValueError:
            allowed = ", ".join(t.value for t in ConditionType)
            raise ValueError(f"thresholds.{key}: must be one of {allowed}") from None
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ValueError(f"thresholds.{key}: must be seconds >= 0, got {seconds!r}")
        out[kind] = dt.timedelta(seconds=seconds)
    return out
