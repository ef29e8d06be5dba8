"""The field table: one table serves to_dict and from_dict of a record."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

import pytest

from airflow_provider_garden.core.fields import (
    Field,
    FieldTable,
    Record,
    as_named,
    camel,
    given,
    plain,
)
from airflow_provider_garden.core.status import wire


class Colour(enum.StrEnum):
    RED = "Red"
    BLUE = "Blue"


@dataclass(frozen=True, kw_only=True)
class Sample(Record):
    FIELDS = FieldTable(
        Field("colour", wire.member_of(Colour)),
        Field("pool_name", wire.text),
        Field("max_surge", wire.integer_or_none),
        Field("tags", wire.texts),
        Field("seen_at", wire.time_or_none, wire.time_text),
        Field("node_id", wire.text_or_none, key="nodeID"),
    )
    PATH = "spec.sample"

    colour: Colour
    pool_name: str
    max_surge: int | None = None
    tags: tuple[str, ...] = ()
    seen_at: dt.datetime | None = None
    node_id: str | None = None


FULL = Sample(
    colour=Colour.BLUE,
    pool_name="a",
    max_surge=2,
    tags=("x", "y"),
    seen_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    node_id="n-1",
)


@pytest.mark.parametrize(
    ("name", "key"),
    [("x", "x"), ("pool_name", "poolName"), ("last_update_time", "lastUpdateTime")],
)
def test_camel(name: str, key: str) -> None:
    assert camel(name) == key


def test_round_trip_under_camel_case_keys() -> None:
    data = FULL.to_dict()
    assert data == {
        "colour": "Blue",
        "poolName": "a",
        "maxSurge": 2,
        "tags": ["x", "y"],
        "seenAt": "2026-01-02T03:04:05Z",
        "nodeID": "n-1",
    }
    assert Sample.from_dict(data) == FULL


def test_unknown_keys_are_ignored() -> None:
    data = {**FULL.to_dict(), "addedLater": {"a": 1}, "pool_name": "snake"}
    assert Sample.from_dict(data) == FULL


def test_missing_optional_keys_read_as_their_rule_says() -> None:
    got = Sample.from_dict({"colour": "Red"})
    assert got == Sample(colour=Colour.RED, pool_name="")
    assert got.to_dict() == {
        "colour": "Red",
        "poolName": "",
        "maxSurge": None,
        "tags": [],
        "seenAt": None,
        "nodeID": None,
    }


def test_a_missing_required_member_names_the_field_under_the_path() -> None:
    with pytest.raises(wire.StatusError, match=r"spec\.sample\.colour: must be one of Red, Blue"):
        Sample.from_dict({"poolName": "a"})
    with pytest.raises(wire.StatusError, match=r"pools\[2\]\.maxSurge: must be an integer"):
        Sample.from_dict({"colour": "Red", "maxSurge": "2"}, "pools[2]")


def test_a_member_with_a_default_is_the_default_when_absent() -> None:
    read = wire.member_of(Colour, Colour.RED)
    assert read({}, "colour", "p") is Colour.RED
    assert read({"colour": ""}, "colour", "p") is Colour.RED
    assert read({"colour": "Blue"}, "colour", "p") is Colour.BLUE
    with pytest.raises(wire.StatusError, match=r"p\.colour: must be one of"):
        read({"colour": "Green"}, "colour", "p")


def test_members_name_the_bad_entry() -> None:
    read = wire.members_of(Colour)
    assert read({"c": ["Red", "Blue"]}, "c", "p") == (Colour.RED, Colour.BLUE)
    assert read({}, "c", "p") == ()
    with pytest.raises(wire.StatusError, match=r"p\.c\[1\]: must be one of"):
        read({"c": ["Red", "Green"]}, "c", "p")


def test_a_required_time_is_refused_when_absent() -> None:
    with pytest.raises(wire.StatusError, match=r"p\.at: is required"):
        wire.time({}, "at", "p")


def test_plain_refuses_a_value_without_an_obvious_json_form() -> None:
    assert plain((Colour.RED, "a", 1, None)) == ["Red", "a", 1, None]
    with pytest.raises(TypeError, match="datetime"):
        plain(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


def test_a_table_names_each_field_and_key_once() -> None:
    with pytest.raises(ValueError, match="once"):
        FieldTable(Field("a", wire.text), Field("a", wire.text, key="b"))
    with pytest.raises(ValueError, match="once"):
        FieldTable(Field("a_b", wire.text), Field("x", wire.text, key="aB"))


@dataclass(frozen=True, kw_only=True)
class Outer(Record):
    FIELDS = FieldTable(
        Field("inner", wire.record_of(Sample)),
        Field("items", wire.records_of(Sample)),
    )
    PATH = "outer"

    inner: Sample | None = None
    items: tuple[Sample, ...] = ()


def test_nested_records_are_read_at_their_path_and_written_by_their_to_dict() -> None:
    outer = Outer(inner=FULL, items=(FULL, Sample(colour=Colour.RED, pool_name="b")))
    data = outer.to_dict()
    assert data["inner"] == FULL.to_dict()
    assert [i["poolName"] for i in data["items"]] == ["a", "b"]
    assert Outer.from_dict(data) == outer
    assert Outer.from_dict({"inner": {}}) == Outer(), "an empty record is an absent one"
    with pytest.raises(wire.StatusError, match=r"outer\.items\[1\]\.colour: must be one of"):
        Outer.from_dict({"items": [data["inner"], {"colour": "Green"}]})
    with pytest.raises(wire.StatusError, match=r"outer\.inner: must be an object"):
        Outer.from_dict({"inner": "x"})


def test_plain_writes_a_mappings_values_in_their_json_form() -> None:
    assert plain({"a": FULL, "b": (Colour.BLUE,)}) == {"a": FULL.to_dict(), "b": ["Blue"]}


@dataclass(frozen=True, kw_only=True)
class Task(Record):
    """A record of the kind tasks hand each other through XCom."""

    FIELDS = FieldTable(
        Field("shoot_name", given(str, required=True)),
        Field("retry_after", given()),
        Field("mapped", given(bool)),
        naming=as_named,
    )
    PATH = "task"

    shoot_name: str
    retry_after: int | None = None
    mapped: bool = False


def test_xcom_records_keep_the_attribute_names_and_take_what_was_written() -> None:
    task = Task(shoot_name="p/s", retry_after=3, mapped=True)
    assert task.to_dict() == {"shoot_name": "p/s", "retry_after": 3, "mapped": True}
    assert Task.from_dict(task.to_dict()) == task
    assert Task.from_dict({"shoot_name": 7, "other": 1}) == Task(shoot_name="7")
    with pytest.raises(KeyError, match="shoot_name"):
        Task.from_dict({"mapped": True})
