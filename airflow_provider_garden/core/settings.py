"""The provider's settings: one typed object, read once from Airflow's ``[garden]`` section.

This module is pure: `GardenSettings.from_options` turns the section's text values
into the object (and names the option and rule of a bad value); the Airflow side
(`hooks/settings.py`) only fetches the text. Operators take their defaults from
the object and pass what the agent needs on its command line, so the agent has no
defaults of its own. `get_provider_info` declares the section from `OPTIONS`, so
Airflow's defaults are these.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_garden.core import installation, pod_overrides
from airflow_provider_garden.core.rollout import CREATION_TIMEOUT
from airflow_provider_garden.core.toolbox import TOOLBOX_IMAGE

SECTION = "garden"
#: The namespace of the provider's own objects when ``[garden] namespace`` is not set.
DEFAULT_NAMESPACE = "garden-system"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _doc(doc: str, *, zero_allowed: bool = False) -> dict[str, Any]:
    """A field's metadata: what it controls; a timeout may be 0 only if ``zero_allowed``."""
    return {"doc": doc, "zero_allowed": zero_allowed}


def option_key(setting: dataclasses.Field[Any]) -> str:
    """The ``[garden]`` key of a field of :class:`GardenSettings`."""
    return setting.name + ("_seconds" if setting.type == "dt.timedelta" else "")


@dataclass(frozen=True)
class GardenSettings:
    """Everything configurable about the provider, as typed values (timeouts as timedelta).

    Each field's ``doc`` (in its metadata, shown by `OPTIONS` and in the README) says
    what it controls; :func:`option_key` is its key in ``[garden]``.
    """

    kubernetes_conn_id: str = field(
        default="kubernetes_default",
        metadata=_doc(
            "Airflow connection of the seed cluster: type garden (its namespace and toolbox "
            "image, where set, replace these options for its tasks) or kubernetes."
        ),
    )
    namespace: str = field(
        default=DEFAULT_NAMESPACE,
        metadata=_doc(
            "Seed namespace of the provider's own objects: operator pods and their "
            "ServiceAccounts, the CloudProfile, kustomize inventories; the accounts' "
            "ClusterRoles are named after it. `garden install --namespace` must match."
        ),
    )
    toolbox_image: str = field(
        default=TOOLBOX_IMAGE,
        metadata=_doc("Image every operator pod runs (garden-agent entry point)."),
    )
    startup_timeout: dt.timedelta = field(
        default=dt.timedelta(seconds=120),
        metadata=_doc(
            "How long an operator pod may stay Pending before the task fails with the pod's events."
        ),
    )
    unschedulable_grace: dt.timedelta = field(
        default=dt.timedelta(seconds=45),
        metadata=_doc(
            "How long an operator pod may stay unschedulable for lack of room on the seed "
            "(the scheduler's Insufficient cpu or memory, Too many pods) before the task fails "
            "with ERR_INFRA_QUOTA_EXCEEDED and the pod is deleted; other reasons a pod is not "
            "placed wait out startup_timeout_seconds."
        ),
    )
    shoot_ready_timeout: dt.timedelta = field(
        default=dt.timedelta(minutes=30),
        metadata=_doc("How long ShootReadySensor and ShootBackupSensor wait by default."),
    )
    machine_creation_timeout: dt.timedelta = field(
        default=CREATION_TIMEOUT,
        metadata=_doc("How long a new machine of a rollout may take to become Ready."),
    )
    drain_timeout: dt.timedelta = field(
        default=dt.timedelta(hours=2),
        metadata=_doc("How long one node drain of a machine rollout may take."),
    )
    kustomize_wait_timeout: dt.timedelta = field(
        default=dt.timedelta(minutes=5),
        metadata=_doc(
            "How long KustomizeApply waits for the applied workloads to be healthy (0: not at all).",
            zero_allowed=True,
        ),
    )
    allowed_pod_overrides: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "Pod arguments a DAG may pass to garden operators, comma-separated: ARG (any "
            "value) or ARG=VALUE (that value only). Governs image, service_account_name, "
            "security_context, container_security_context, init_containers, full_pod_spec, "
            "pod_template_file, pod_template_dict, the xcom sidecar's image and security "
            "context, and every host* argument; empty: none, each operator chooses its own.",
        ),
    )
    instance: str = field(
        default="",
        metadata=_doc(
            "Id of this Airflow installation, set as a label on every operator pod; the orphan "
            "reaper touches only pods with its own. Empty: derived from the metadata "
            "database's address in [database] sql_alchemy_conn (airflow-<digest>; no "
            "credentials), the same on every worker and across restarts.",
        ),
    )
    project_admins: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "Airflow user names that are admins of every project, comma-separated (the "
            "installation's operators); everyone else needs a membership in the shoot's "
            "Project. Empty: project members only.",
        ),
    )
    reap_unknown_dags: bool = field(
        default=False,
        metadata=_doc(
            "Whether the orphan reaper also deletes this installation's pods of DAGs it no "
            "longer knows (deleted DAGs); pods of other installations are never touched.",
        ),
    )

    def __post_init__(self) -> None:
        problems = [p for p in (_check(self, f) for f in dataclasses.fields(self)) if p]
        if problems:
            raise ValueError("; ".join(problems))

    def for_connection(self, conn_id: str, fields: Mapping[str, Any]) -> GardenSettings:
        """These settings for the seed of a ``garden`` connection `conn_id`: each of its
        `CONNECTION_FIELDS` (from its extra) it sets replaces the ``[garden]`` value.

        Raises ValueError naming the connection and field of a value that breaks its rule.
        """
        values: dict[str, Any] = {}
        for name in CONNECTION_FIELDS:
            value = fields.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                continue  # unset: the [garden] value stands
            values[name] = value.strip() if isinstance(value, str) else value
        problems = [
            p
            for name, value in values.items()
            if (p := _problem(value, _FIELDS[name], where=f"connection {conn_id!r} {name}"))
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return dataclasses.replace(self, kubernetes_conn_id=conn_id, **values)

    @classmethod
    def from_options(cls, options: Mapping[str, str | None]) -> GardenSettings:
        """The settings from ``[garden]``'s text values; an absent or empty key keeps its default.

        Raises ValueError naming the option and its rule for a value that does not parse.
        """
        values: dict[str, Any] = {}
        problems: list[str] = []
        for f in dataclasses.fields(cls):
            text = options.get(option_key(f))
            if text is None or not text.strip():
                continue
            try:
                values[f.name] = _PARSERS[str(f.type)](text.strip())
            except ValueError:
                problems.append(f"[{SECTION}] {option_key(f)}: {_RULES[str(f.type)]}, got {text!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return cls(**values)


def _seconds(text: str) -> dt.timedelta:
    return dt.timedelta(seconds=float(text))


def _list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _bool(text: str) -> bool:
    words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
    if text.lower() not in words:
        raise ValueError(text)
    return words[text.lower()]


# Field types as written in the class body (`from __future__ import annotations`).
_PARSERS: dict[str, Callable[[str], Any]] = {
    "str": str,
    "dt.timedelta": _seconds,
    "tuple[str, ...]": _list,
    "bool": _bool,
}
_RULES = {
    "str": "must be text",
    "dt.timedelta": "must be a number of seconds",
    "tuple[str, ...]": "must be a comma-separated list",
    "bool": "must be true or false",
}


def _check(settings: GardenSettings, f: dataclasses.Field[Any]) -> str | None:
    return _problem(getattr(settings, f.name), f, where=f"[{SECTION}] {option_key(f)}")


def _problem(value: Any, f: dataclasses.Field[Any], *, where: str) -> str | None:
    """What is wrong with `value` for the field `f`, said of ``where``; None if nothing."""
    if isinstance(value, dt.timedelta):
        zero_allowed = f.metadata["zero_allowed"]
        if value < dt.timedelta(0) or (value == dt.timedelta(0) and not zero_allowed):
            return f"{where}: must be {'0 or more' if zero_allowed else 'more than 0'} seconds"
        return None
    if isinstance(value, bool):
        return None
    if f.name == "instance":
        # Empty until the Airflow side derives it (hooks/settings.py).
        problem = installation.instance_problem(value) if value else None
        return f"{where}: {problem}" if problem else None
    if f.name == "allowed_pod_overrides":
        problems = [p for p in map(pod_overrides.entry_problem, value) if p]
        return f"{where}: {'; '.join(problems)}" if problems else None
    if isinstance(value, tuple):
        return None  # project_admins: any Airflow user names
    if not isinstance(value, str):
        return f"{where}: must be text, got {value!r}"
    if not value:
        return f"{where}: must not be empty"
    if f.name == "namespace" and (len(value) > 63 or not _DNS_LABEL.match(value)):
        return f"{where}: must be a DNS label (lowercase letters, digits, '-'; at most 63), got {value!r}"
    return None


@dataclass(frozen=True)
class Option:
    """One ``[garden]`` key as Airflow's provider metadata declares it."""

    key: str
    field: str
    doc: str
    type: str  # "string", "float" or "boolean" as Airflow's config schema names them
    default: str


def _option_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
        return str(int(seconds)) if seconds.is_integer() else str(seconds)
    return str(value)


_FIELDS = {f.name: f for f in dataclasses.fields(GardenSettings)}
#: What a ``garden`` connection may set for its own seed, under these names in its extra
#: (the Airflow side: hooks/settings.py). The rest of ``[garden]`` is the installation's.
CONNECTION_FIELDS = ("namespace", "toolbox_image")

DEFAULTS = GardenSettings()
OPTIONS = tuple(
    Option(
        key=option_key(f),
        field=f.name,
        doc=f.metadata["doc"],
        type={"dt.timedelta": "float", "bool": "boolean"}.get(str(f.type), "string"),
        default=_option_text(getattr(DEFAULTS, f.name)),
    )
    for f in dataclasses.fields(GardenSettings)
)
