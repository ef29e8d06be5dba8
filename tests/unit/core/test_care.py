"""core.care: observations -> conditions, constraints and label, on a fake clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from airflow_provider_garden.core import care
from airflow_provider_garden.core.care import Label, Node, Observation, Pool, Webhook, Workload
from airflow_provider_garden.core.status import (
    Condition,
    ConditionStatus,
    ConditionType,
    ConstraintType,
    ErrorCode,
    update_condition,
)

T0 = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)
TRUE, FALSE = ConditionStatus.TRUE, ConditionStatus.FALSE
UNKNOWN, PROGRESSING = ConditionStatus.UNKNOWN, ConditionStatus.PROGRESSING
CP = ConditionType.CONTROL_PLANE_HEALTHY
API = ConditionType.API_SERVER_AVAILABLE


def control_plane(**overrides: Workload) -> tuple[Workload, ...]:
    ok = {
        name: Workload(kind=kind, name=name, desired=1, ready=1)
        for kind, name in care.CONTROL_PLANE
    }
    return tuple({**ok, **overrides}.values())


POOL = Pool(name="a", minimum=2, image_name="gardenlinux", image_version="1592.2")


def node(name: str, *, ready: bool = True, version: str = "1592.2") -> Node:
    return Node(name=name, pool="a", ready=ready, image_name="gardenlinux", image_version=version)


HEALTHY = Observation(
    readyz="ok",
    control_plane=control_plane(),
    nodes=(node("n1"), node("n2")),
    system=(Workload(kind="Deployment", name="coredns", desired=2, ready=2),),
    webhooks=(),
    ca_not_after=T0 + dt.timedelta(days=3650),
    pools=(POOL,),
)


def by_type(verdict: care.Verdict) -> dict[str, Condition]:
    return {c.type.value: c for c in verdict.conditions}


def test_a_healthy_shoot_is_true_everywhere_and_labelled_healthy() -> None:
    v = care.judge(HEALTHY, (), now=T0)
    assert {c.status for c in v.conditions} == {TRUE}
    assert {c.status for c in v.constraints} == {TRUE}
    assert v.label is Label.HEALTHY


@pytest.mark.parametrize(
    ("observation", "kind", "status", "named"),
    [
        (
            replace(HEALTHY, readyz=None, readyz_error="connect refused"),
            API,
            FALSE,
            "connect refused",
        ),
        (
            replace(HEALTHY, readyz="[-]etcd failed"),
            API,
            FALSE,
            "etcd failed",
        ),
        (
            Observation(
                **{
                    **HEALTHY.__dict__,
                    "control_plane": control_plane(
                        **{
                            "kube-scheduler": Workload(
                                kind="Deployment", name="kube-scheduler", desired=0, ready=0
                            )
                        }
                    ),
                }
            ),
            CP,
            FALSE,
            "Deployment kube-scheduler is scaled to 0",
        ),
        (
            Observation(
                **{
                    **HEALTHY.__dict__,
                    "control_plane": control_plane(
                        etcd=Workload(
                            kind="StatefulSet",
                            name="etcd",
                            desired=1,
                            ready=1,
                            crash_looping=("etcd-0",),
                        )
                    ),
                }
            ),
            CP,
            FALSE,
            "StatefulSet etcd is crash-looping (etcd-0)",
        ),
        (
            replace(HEALTHY, control_plane=control_plane()[:3]),
            CP,
            FALSE,
            "Deployment kube-scheduler is missing",
        ),
        (
            replace(HEALTHY, control_plane=None, control_plane_error="x"),
            CP,
            UNKNOWN,
            "x",
        ),
        (
            replace(HEALTHY, nodes=(node("n1"), node("n2", ready=False))),
            ConditionType.EVERY_NODE_READY,
            FALSE,
            "pool a has 1/2 Ready nodes on gardenlinux 1592.2; not Ready: n2",
        ),
        (
            Observation(
                **{**HEALTHY.__dict__, "nodes": (node("n1"), node("n2", version="1592.1"))}
            ),
            ConditionType.EVERY_NODE_READY,
            FALSE,
            "other image: n2",
        ),
        (
            Observation(
                **{
                    **HEALTHY.__dict__,
                    "system": (Workload(kind="DaemonSet", name="kube-proxy", desired=3, ready=1),),
                }
            ),
            ConditionType.SYSTEM_COMPONENTS_HEALTHY,
            FALSE,
            "DaemonSet kube-proxy has 1/3 replicas ready",
        ),
    ],
)
def test_unhealthy_observations_name_the_object(
    observation: Observation, kind: ConditionType, status: ConditionStatus, named: str
) -> None:
    # zero thresholds: the verdict as observed, no Progressing step
    v = care.judge(observation, (), now=T0, thresholds={})
    condition = by_type(v)[kind.value]
    assert condition.status is status
    assert named in condition.message
    others = [c for c in v.conditions if c.type is not kind]
    assert {c.status for c in others} == {TRUE}


def test_no_system_workloads_and_no_pools_are_healthy_as_observed() -> None:
    obs = replace(HEALTHY, system=(), pools=(), nodes=())
    v = by_type(care.judge(obs, (), now=T0))
    assert v["SystemComponentsHealthy"].reason == "NoSystemComponents"
    assert v["EveryNodeReady"].reason == "NoWorkers"


def run(obs: Observation, old: tuple[Condition, ...], now: dt.datetime) -> tuple[Condition, ...]:
    """One care run: judge, then store as the writer does (transition rule)."""
    verdict = care.judge(obs, old, now=now, thresholds={CP: 2 * MIN})
    previous = {c.type: c for c in old}
    return tuple(update_condition(previous.get(c.type), c, now=now) for c in verdict.conditions)


def test_unhealthy_goes_progressing_then_false_after_the_threshold_then_back_to_true() -> None:
    broken = Observation(
        **{
            **HEALTHY.__dict__,
            "control_plane": control_plane(
                **{
                    "kube-scheduler": Workload(
                        kind="Deployment", name="kube-scheduler", desired=0, ready=0
                    )
                }
            ),
        }
    )
    timeline = [
        (T0, HEALTHY, TRUE),
        (T0 + MIN, broken, PROGRESSING),  # was True
        (T0 + 2 * MIN, broken, PROGRESSING),  # 1 min Progressing < 2 min threshold
        (T0 + 3 * MIN, broken, FALSE),  # 2 min Progressing: False
        (T0 + 4 * MIN, broken, FALSE),
        (T0 + 5 * MIN, HEALTHY, TRUE),
        (T0 + 6 * MIN, HEALTHY, TRUE),
    ]
    conditions: tuple[Condition, ...] = ()
    seen = []
    for now, obs, expected in timeline:
        conditions = run(obs, conditions, now)
        cp = next(c for c in conditions if c.type is CP)
        assert cp.status is expected, now
        seen.append(cp.last_transition_time)
    # the transition time moves only where the status does
    assert seen == [T0, T0 + MIN, T0 + MIN, T0 + 3 * MIN, T0 + 3 * MIN, T0 + 5 * MIN, T0 + 5 * MIN]
    # API server stayed True throughout: its transition time never moved
    assert next(c for c in conditions if c.type is API).last_transition_time == T0


def test_unknown_is_never_held_back_nor_made_progressing() -> None:
    old = Condition(type=CP, status=TRUE, last_transition_time=T0)
    unknown = Condition(type=CP, status=UNKNOWN, reason="NotObserved", message="seed down")
    assert care.with_threshold(old, unknown, threshold=MIN, now=T0) == unknown


def test_false_stays_false_and_a_first_unhealthy_look_is_progressing() -> None:
    bad = Condition(type=CP, status=FALSE, message="x")
    was_false = Condition(type=CP, status=FALSE, last_transition_time=T0)
    assert care.with_threshold(was_false, bad, threshold=MIN, now=T0).status is FALSE
    assert care.with_threshold(None, bad, threshold=MIN, now=T0).status is PROGRESSING
    assert care.with_threshold(None, bad, threshold=dt.timedelta(0), now=T0).status is FALSE


def constraint(v: care.Verdict, kind: ConstraintType) -> care.Constraint:
    return next(c for c in v.constraints if c.type is kind)


def test_a_fail_closed_webhook_on_pods_blocks_hibernation_and_maintenance() -> None:
    hook = Webhook(
        configuration="ValidatingWebhookConfiguration/policy",
        name="pods.policy.example",
        fails_closed=True,
        resources=("pods",),
    )
    v = care.judge(replace(HEALTHY, webhooks=(hook,)), (), now=T0)
    for kind in (
        ConstraintType.HIBERNATION_POSSIBLE,
        ConstraintType.MAINTENANCE_PRECONDITIONS_SATISFIED,
    ):
        c = constraint(v, kind)
        assert c.status is FALSE
        assert "ValidatingWebhookConfiguration/policy webhook pods.policy.example" in c.message
        assert c.codes == (ErrorCode.PROBLEMATIC_WEBHOOK,)


def test_a_webhook_elsewhere_blocks_only_hibernation_and_an_ignoring_one_nothing() -> None:
    on_configmaps = Webhook(
        configuration="MutatingWebhookConfiguration/m",
        name="cm",
        fails_closed=True,
        resources=("configmaps",),
    )
    ignoring = Webhook(
        configuration="MutatingWebhookConfiguration/m",
        name="all",
        fails_closed=False,
        resources=("*",),
    )
    v = care.judge(replace(HEALTHY, webhooks=(on_configmaps, ignoring)), (), now=T0)
    assert constraint(v, ConstraintType.HIBERNATION_POSSIBLE).status is FALSE
    assert "webhook cm" in constraint(v, ConstraintType.HIBERNATION_POSSIBLE).message
    assert constraint(v, ConstraintType.MAINTENANCE_PRECONDITIONS_SATISFIED).status is TRUE


@pytest.mark.parametrize(
    ("resources", "blocks_maintenance"),
    [
        (("*/*",), True),  # everything, subresources included
        (("pods/*",), True),  # pods and each subresource of pods
        (("*/eviction",), True),  # every eviction: a drain's
        (("*",), True),  # every resource (pods and nodes among them)
        (("nodes",), True),
        (("pods/status",), False),  # only a subresource a drain does not write
        (("*/scale",), False),
        (("deployments/*",), False),
    ],
)
def test_webhook_resource_patterns_are_matched_as_the_api_server_does(
    resources: tuple[str, ...], blocks_maintenance: bool
) -> None:
    hook = Webhook(
        configuration="ValidatingWebhookConfiguration/v",
        name="hook.example",
        fails_closed=True,
        resources=resources,
    )
    v = care.judge(replace(HEALTHY, webhooks=(hook,)), (), now=T0)
    assert constraint(v, ConstraintType.HIBERNATION_POSSIBLE).status is FALSE
    maintenance = constraint(v, ConstraintType.MAINTENANCE_PRECONDITIONS_SATISFIED)
    assert (maintenance.status is FALSE) is blocks_maintenance, maintenance.message


def test_maintenance_needs_a_healthy_control_plane() -> None:
    obs = replace(HEALTHY, control_plane=control_plane()[:3])
    c = constraint(care.judge(obs, (), now=T0), ConstraintType.MAINTENANCE_PRECONDITIONS_SATISFIED)
    assert c.status is FALSE
    assert "kube-scheduler is missing" in c.message


@pytest.mark.parametrize(
    ("left", "status"),
    [(dt.timedelta(days=366), TRUE), (dt.timedelta(days=364), FALSE), (dt.timedelta(0), FALSE)],
)
def test_a_ca_expiring_within_a_year_is_not_acceptable(
    left: dt.timedelta, status: ConditionStatus
) -> None:
    obs = replace(HEALTHY, ca_not_after=T0 + left)
    c = constraint(care.judge(obs, (), now=T0), ConstraintType.CA_CERTIFICATE_VALIDITIES_ACCEPTABLE)
    assert c.status is status
    assert (T0 + left).strftime("%Y-%m-%d") in c.message


@pytest.mark.parametrize(
    ("statuses", "label"),
    [
        ((TRUE, TRUE), Label.HEALTHY),
        ((TRUE, PROGRESSING), Label.PROGRESSING),
        ((UNKNOWN, PROGRESSING), Label.PROGRESSING),
        ((TRUE, UNKNOWN), Label.UNKNOWN),
        ((FALSE, PROGRESSING, UNKNOWN), Label.UNHEALTHY),
        ((), Label.UNKNOWN),
    ],
)
def test_status_label(statuses: tuple[ConditionStatus, ...], label: Label) -> None:
    kinds = list(ConditionType)
    conditions = [Condition(type=kinds[i], status=s) for i, s in enumerate(statuses)]
    assert care.status_label(conditions) is label


def test_thresholds_name_the_bad_field() -> None:
    assert care.parse_thresholds({"ControlPlaneHealthy": 5})[CP] == dt.timedelta(seconds=5)
    with pytest.raises(ValueError, match=r"thresholds.Nope: must be one of APIServerAvailable"):
        care.parse_thresholds({"Nope": 5})
    with pytest.raises(ValueError, match=r"thresholds.ControlPlaneHealthy: must be seconds >= 0"):
        care.parse_thresholds({"ControlPlaneHealthy": -1})


def test_etcd_kept_down_on_lost_data_carries_the_code() -> None:
    etcd = Workload(
        kind="StatefulSet", name="etcd", desired=1, ready=0, data_lost="no database, backup B"
    )
    condition = care.control_plane_healthy(replace(HEALTHY, control_plane=control_plane(etcd=etcd)))
    assert (condition.status, condition.reason) == (FALSE, "EtcdDataLost")
    assert condition.codes == (ErrorCode.ETCD_DATA_LOST,)
    assert "kept down: no database, backup B" in condition.message
    # the code stays while the threshold holds the condition at Progressing
    held = care.with_threshold(None, condition, threshold=dt.timedelta(minutes=1), now=T0)
    assert held.codes == (ErrorCode.ETCD_DATA_LOST,)


@pytest.mark.parametrize(
    ("nodes", "needed"),
    [
        ((node("n1"), node("n2")), False),  # every pool at its minimum, all Ready
        ((node("n1"), node("n2", ready=False)), True),  # one to replace, maybe
        ((node("n1"),), True),  # one short of the minimum: refill
        ((node("n1"), replace(node("n2"), deleting=True)), True),  # one going: short too
        ((), True),  # the whole pool vanished
        (None, False),  # not observed: nothing to go by
    ],
)
def test_machine_health_is_needed_for_a_node_not_ready_or_a_pool_short_of_nodes(
    nodes: tuple[Node, ...] | None, needed: bool
) -> None:
    assert care.needs_machine_health(replace(HEALTHY, nodes=nodes)) is needed


def test_a_refill_is_named_by_every_node_ready_and_nothing_else() -> None:
    v = care.judge(replace(HEALTHY, nodes=()), (), now=T0, thresholds={})
    refilled = care.with_refills(v, {"a": ["s-a-x1", "s-a-x2"], "b": []})
    nodes = by_type(refilled)[ConditionType.EVERY_NODE_READY.value]
    assert nodes.status is FALSE  # as observed before the refill
    assert nodes.message == (
        "pool a has 0/2 Ready nodes on gardenlinux 1592.2; pool a refilled with s-a-x1, s-a-x2"
    )
    others = [c for c in refilled.conditions if c.type is not ConditionType.EVERY_NODE_READY]
    assert others == [c for c in v.conditions if c.type is not ConditionType.EVERY_NODE_READY]
    assert care.with_refills(v, {"a": []}) is v


def test_a_node_being_deleted_counts_toward_no_minimum_even_while_ready() -> None:
    going = replace(node("n2"), deleting=True)
    condition = care.every_node_ready(replace(HEALTHY, nodes=(node("n1"), going)))
    assert (condition.status, condition.reason) == (FALSE, "NodesUnhealthy")
    assert condition.message == (
        "pool a has 1/2 Ready nodes on gardenlinux 1592.2; being deleted: n2"
    )
    spare = care.every_node_ready(replace(HEALTHY, nodes=(node("n1"), going, node("n3"))))
    assert spare.status is TRUE
