"""The provider's settings as Airflow configures them: ``[garden]`` read into `GardenSettings`.

The one place that reads the section. Values come from airflow.cfg or the
environment (``AIRFLOW__GARDEN__NAMESPACE``...); the defaults Airflow knows are
`core.settings.OPTIONS` (declared through `get_provider_info`). An unset
``instance`` is derived here from ``[database] sql_alchemy_conn``
(`core.installation.derive_instance`).

`for_connection` is the one place a connection changes them: a ``garden`` connection's
seed namespace and toolbox image (`core.settings.CONNECTION_FIELDS`) replace
``[garden]``'s for the tasks that use it; a ``kubernetes`` connection changes nothing
(its Namespace field is the namespace of its own pods, not the provider's).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from airflow_provider_garden.core.installation import derive_instance
from airflow_provider_garden.core.settings import OPTIONS, SECTION, GardenSettings

if TYPE_CHECKING:
    from airflow.sdk import Connection

#: The connection type of a seed with its own namespace and toolbox image (GardenHook's).
GARDEN_CONN_TYPE = "garden"
#: cncf-kubernetes' connection type, which still reaches a seed with ``[garden]``'s settings.
KUBERNETES_CONN_TYPE = "kubernetes"
log = logging.getLogger(__name__)


def garden_settings() -> GardenSettings:
    """Read ``[garden]`` now (cheap; callers keep the object they got)."""
    from airflow.sdk.configuration import conf

    options = {o.key: conf.get(SECTION, o.key, fallback=o.default) for o in OPTIONS}
    if not (options.get("instance") or "").strip():
        options["instance"] = derive_instance(
            conf.get("database", "sql_alchemy_conn", fallback="") or ""
        )
    return GardenSettings.from_options(options)


def for_connection(settings: GardenSettings, conn: Connection) -> GardenSettings:
    """`settings` for the seed of `conn`: what a ``garden`` connection sets replaces them.

    Raises ValueError naming the connection and field of a value that breaks its rule.
    """
    if conn.conn_type == GARDEN_CONN_TYPE:
        return settings.for_connection(conn.conn_id, conn.extra_dejson)
    if conn.conn_type not in (KUBERNETES_CONN_TYPE, None, ""):
        raise ValueError(
            f"connection {conn.conn_id!r} is of type {conn.conn_type!r}: a seed is reached "
            f"through a {GARDEN_CONN_TYPE!r} or {KUBERNETES_CONN_TYPE!r} connection"
        )
    ignored = conn.extra_dejson.get("namespace") or conn.extra_dejson.get(
        "extra__kubernetes__namespace"
    )
    if ignored and ignored != settings.namespace:
        log.warning(
            "connection %r (type %s) names namespace %r: the provider uses [garden] namespace "
            "%r; a garden connection sets its own",
            conn.conn_id,
            conn.conn_type,
            ignored,
            settings.namespace,
        )
    return dataclasses.replace(settings, kubernetes_conn_id=conn.conn_id)
