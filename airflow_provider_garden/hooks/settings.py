"""The provider's settings as Airflow configures them: ``[garden]`` read into `GardenSettings`.

The one place that reads the section. Values come from airflow.cfg or the
environment (``AIRFLOW__GARDEN__NAMESPACE``...); the defaults Airflow knows are
`core.settings.OPTIONS` (declared through `get_provider_info`). An unset
``instance`` is derived here from ``[database] sql_alchemy_conn``
(`core.installation.derive_instance`).
"""

from __future__ import annotations

from airflow_provider_garden.core.installation import derive_instance
from airflow_provider_garden.core.settings import OPTIONS, SECTION, GardenSettings


def garden_settings() -> GardenSettings:
    """Read ``[garden]`` now (cheap; callers keep the object they got)."""
    from airflow.sdk.configuration import conf

    options = {o.key: conf.get(SECTION, o.key, fallback=o.default) for o in OPTIONS}
    if not (options.get("instance") or "").strip():
        options["instance"] = derive_instance(
            conf.get("database", "sql_alchemy_conn", fallback="") or ""
        )
    return GardenSettings.from_options(options)
