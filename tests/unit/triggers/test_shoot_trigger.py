from __future__ import annotations

from airflow_provider_garden.triggers.shoot import ShootStatusTrigger


def test_serialize_is_pinned() -> None:
    # The triggerer rebuilds the trigger from exactly this: a change here breaks
    # deferred tasks that are in flight during an upgrade.
    trigger = ShootStatusTrigger(
        kubernetes_conn_id="seed",
        project="team-a",
        name="dev",
        check="backup_fresh",
        max_backup_age=3600.0,
        poll_interval=2.0,
        timeout=60.0,
    )
    assert trigger.serialize() == (
        "airflow_provider_garden.triggers.shoot.ShootStatusTrigger",
        {
            "kubernetes_conn_id": "seed",
            "project": "team-a",
            "name": "dev",
            "check": "backup_fresh",
            "max_backup_age": 3600.0,
            "poll_interval": 2.0,
            "timeout": 60.0,
        },
    )
    classpath, kwargs = trigger.serialize()
    assert ShootStatusTrigger(**kwargs).serialize() == (classpath, kwargs)
