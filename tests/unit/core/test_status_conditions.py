"""The transition rule, table-tested on a fake clock (no wall clock anywhere)."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_garden.core.status import (
    Condition,
    ConditionStatus,
    ConditionType,
    Constraint,
    ConstraintType,
    ErrorCode,
    merge_conditions,
    update_condition,
)

T0 = dt.datetime(2026, 12, 6, 15, 0, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
NODES = ConditionType.EVERY_NODE_READY
TRUE, FALSE = ConditionStatus.TRUE, ConditionStatus.FALSE


def cond(
    status: ConditionStatus = TRUE, reason: str = "NodesReady", message: str = "all 3 Ready"
) -> Condition:
    return Condition(type=NODES, status=status, reason=reason, message=message)


def written_at(at: dt.datetime, **kwargs: str) -> Condition:
    return update_condition(None, cond(**kwargs), now=at)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("case", "new", "transition", "update"),
    [
        ("unchanged an hour later", cond(), T0, T0),
        ("message changed", cond(message="all 4 Ready"), T0, T0 + HOUR),
        ("reason changed", cond(reason="Rechecked"), T0, T0 + HOUR),
        ("status flipped", cond(FALSE, "NodesNotReady", "1 of 3 not Ready"), T0 + HOUR, T0 + HOUR),
        ("to Progressing", cond(ConditionStatus.PROGRESSING), T0 + HOUR, T0 + HOUR),
    ],
)
def test_transition_time_moves_only_with_the_status(
    case: str, new: Condition, transition: dt.datetime, update: dt.datetime
) -> None:
    old = update_condition(None, cond(), now=T0)
    got = update_condition(old, new, now=T0 + HOUR)
    assert (got.last_transition_time, got.last_update_time) == (transition, update), case
    assert (got.status, got.reason, got.message) == (new.status, new.reason, new.message)


def test_first_write_stamps_both_times_in_whole_utc_seconds() -> None:
    at = dt.datetime(2026, 12, 6, 16, 30, 5, 999_999, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    got = update_condition(None, cond(), now=at)
    assert (
        got.last_transition_time
        == got.last_update_time
        == dt.datetime(2026, 12, 6, 15, 30, 5, tzinfo=dt.UTC)
    )


def test_flip_and_flip_back_is_two_transitions() -> None:
    first = update_condition(None, cond(), now=T0)
    down = update_condition(first, cond(FALSE), now=T0 + HOUR)
    up = update_condition(down, cond(), now=T0 + 2 * HOUR)
    assert up.last_transition_time == T0 + 2 * HOUR


def test_times_the_caller_passes_are_ignored() -> None:
    old = update_condition(None, cond(), now=T0)
    forged = Condition(
        type=NODES,
        status=TRUE,
        reason="NodesReady",
        message="all 3 Ready",
        last_transition_time=T0 + 5 * HOUR,
        last_update_time=T0 + 5 * HOUR,
    )
    got = update_condition(old, forged, now=T0 + HOUR)
    assert got.last_transition_time == T0


def test_an_old_record_without_times_gets_them_now() -> None:
    old = Condition.from_dict({"type": "EveryNodeReady", "status": "True"})
    got = update_condition(old, Condition(type=NODES, status=TRUE), now=T0)
    assert got.last_transition_time == got.last_update_time == T0


def test_codes_changing_counts_as_an_update() -> None:
    old = update_condition(None, cond(FALSE), now=T0)
    new = Condition(
        type=NODES,
        status=FALSE,
        reason="NodesReady",
        message="all 3 Ready",
        codes=(ErrorCode.INFRA_QUOTA_EXCEEDED,),
    )
    got = update_condition(old, new, now=T0 + HOUR)
    assert (got.last_transition_time, got.last_update_time) == (T0, T0 + HOUR)


def test_types_must_match() -> None:
    old = update_condition(None, cond(), now=T0)
    other = Condition(type=ConditionType.API_SERVER_AVAILABLE, status=TRUE)
    with pytest.raises(ValueError, match="EveryNodeReady condition with a APIServerAvailable"):
        update_condition(old, other, now=T0)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        update_condition(None, cond(), now=dt.datetime(2026, 12, 6))


def test_merge_keeps_order_and_types_it_was_not_given() -> None:
    api = Condition(type=ConditionType.API_SERVER_AVAILABLE, status=TRUE, reason="Up")
    cp = Condition(type=ConditionType.CONTROL_PLANE_HEALTHY, status=TRUE, reason="Up")
    current = merge_conditions([], [api, cp, cond()], now=T0)
    sys = Condition(type=ConditionType.SYSTEM_COMPONENTS_HEALTHY, status=TRUE)
    merged = merge_conditions(current, [cond(FALSE), sys], now=T0 + HOUR)
    assert [c.type for c in merged] == [
        ConditionType.API_SERVER_AVAILABLE,
        ConditionType.CONTROL_PLANE_HEALTHY,
        NODES,
        ConditionType.SYSTEM_COMPONENTS_HEALTHY,
    ]
    assert merged[0] == current[0]  # untouched, times and all
    assert merged[2].last_transition_time == T0 + HOUR
    assert merged[3].last_transition_time == T0 + HOUR


def test_merge_refuses_two_updates_of_one_type() -> None:
    with pytest.raises(ValueError, match="one update per type"):
        merge_conditions([], [cond(), cond(FALSE)], now=T0)


def test_constraints_follow_the_same_rule() -> None:
    c = Constraint(type=ConstraintType.HIBERNATION_POSSIBLE, status=TRUE, reason="NoWebhooks")
    old = update_condition(None, c, now=T0)
    again = update_condition(old, c, now=T0 + HOUR)
    assert again == old
    assert Constraint.from_dict(again.to_dict()) == again
