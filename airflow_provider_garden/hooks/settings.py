"""The provider's settings as Airflow configures them: ``[garden]`` read into `GardenSettings`.

The one place that reads the section. Values come from airflow.cfg or the
environment (``AIRFLOW__GARDEN__NAMESPACE``...); the defaults Airflow knows are
`core.settings.OPTIONS` (declared through `get_provider_info`).
"""

from __future__ import annotations

from airflow_provider_garden.core.settings import OPTIONS, SECTION, GardenSettings


def garden_settings() -> GardenSettings:
    """Read ``[garden]`` now (cheap; callers keep the object they got)."""
    from airflow.sdk.configuration import conf

    return GardenSettings.from_options(
        {o.key: conf.get(SECTION, o.key, fallback=o.default) for o in OPTIONS}
    )
