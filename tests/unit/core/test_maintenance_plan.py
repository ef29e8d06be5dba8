from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from airflow_provider_garden.core.maintenance_plan import PoolUpdate, plan_maintenance
from airflow_provider_garden.core.shoot_spec import parse_shoot
from airflow_provider_garden.core.version_life import Offering

OFFERED = ("1.32.13", "1.32.11")
IMAGES = {"gardenlinux": ("1592.1", "1592.2")}


def shoot(
    version: str = "1.32.11",
    image: str = "1592.1",
    auto: bool = True,
    window: tuple[str, str] = ("220000+0100", "230000+0100"),
) -> Any:
    return parse_shoot(
        {
            "metadata": {"name": "dev", "namespace": "garden-team-a"},
            "spec": {
                "kubernetes": {"version": version},
                "workers": [
                    {
                        "name": "pool",
                        "machine": {
                            "type": "local",
                            "image": {"name": "gardenlinux", "version": image},
                        },
                        "minimum": 1,
                        "maximum": 3,
                    }
                ],
                "maintenance": {
                    "timeWindow": {"begin": window[0], "end": window[1]},
                    "autoUpdate": {"kubernetesVersion": auto, "machineImageVersion": auto},
                },
            },
        }
    )


IN = dt.datetime(2026, 11, 30, 21, 30, tzinfo=dt.UTC)  # 22:30 at +0100
OUT = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("spec", "at", "kubernetes", "pools"),
    [
        (shoot(), OUT, None, None),  # outside the window: no plan at all
        (shoot(), IN, "1.32.13", (PoolUpdate(pool="pool", image="gardenlinux", version="1592.2"),)),
        (shoot(auto=False), IN, None, ()),  # offered versions, no autoUpdate: stay
        (
            shoot(version="1.32.9", image="1592.0", auto=False),
            IN,
            "1.32.13",
            (PoolUpdate(pool="pool", image="gardenlinux", version="1592.2"),),
        ),  # expired: update anyway
        (shoot(version="1.32.13", image="1592.2"), IN, None, ()),  # already newest
        # a window crossing midnight, checked just after midnight UTC
        (
            shoot(window=("230000+0000", "010000+0000")),
            dt.datetime(2026, 12, 1, 0, 30, tzinfo=dt.UTC),
            "1.32.13",
            (PoolUpdate(pool="pool", image="gardenlinux", version="1592.2"),),
        ),
    ],
)
def test_plans(
    spec: Any, at: dt.datetime, kubernetes: str | None, pools: tuple[PoolUpdate, ...] | None
) -> None:
    plan = plan_maintenance(spec, at=at, offering=Offering.plain(OFFERED, IMAGES))
    if pools is None:
        assert plan is None
        return
    assert plan is not None
    assert plan.kubernetes_version == kubernetes
    assert plan.pools == pools
    assert plan.empty is (kubernetes is None and not pools)


def test_pendulum_datetimes_are_accepted() -> None:
    # Airflow hands tasks pendulum DateTimes; the window math must not care.
    import pendulum

    at = pendulum.datetime(2026, 11, 30, 21, 30, tz="UTC")
    assert plan_maintenance(shoot(), at=at, offering=Offering.plain(OFFERED, IMAGES)) is not None
