from __future__ import annotations

from airflow_provider_garden.triggers.shoot import ShootReadyTrigger


def test_serialize_is_pinned() -> None:
    # The triggerer rebuilds the trigger from exactly this: a change here breaks
    # deferred tasks that are in flight during an upgrade.
    trigger = ShootReadyTrigger(
        kubernetes_conn_id="seed", project="team-a", name="dev", poll_interval=2.0, timeout=60.0
    )
    assert trigger.serialize() == (
        "airflow_provider_garden.triggers.shoot.ShootReadyTrigger",
        {
            "kubernetes_conn_id": "seed",
            "project": "team-a",
            "name": "dev",
            "poll_interval": 2.0,
            "timeout": 60.0,
        },
    )
    classpath, kwargs = trigger.serialize()
    assert ShootReadyTrigger(**kwargs).serialize() == (classpath, kwargs)
