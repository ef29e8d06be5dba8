"""Which pod arguments a DAG author may pass to a garden operator, and which are the operator's.

Each operator runs its pod under its own narrow ServiceAccount, in the toolbox image,
as the toolbox's unprivileged user. A DAG that could pass ``service_account_name=
"garden-shoot"``, another image, a root or privileged security context, host
networking, or a whole pod template (which carries all of these) would take the
operator's permissions for code of its own choosing. So these arguments are the
operator's: a DAG may pass one only where ``[garden] allowed_pod_overrides`` lists it,
either as ``ARG`` (any value) or ``ARG=VALUE`` (that value only).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

#: Arguments of KubernetesPodOperator that choose who the pod runs as and with what,
#: besides every ``host*`` argument (hostnetwork, host_aliases, hostname).
GUARDED = frozenset(
    {
        "image",
        "service_account_name",
        "security_context",
        "container_security_context",
        "init_containers",
        "full_pod_spec",
        "pod_template_file",
        "pod_template_dict",
        "xcom_sidecar_container_image",
        "xcom_sidecar_container_security_context",
    }
)
OPTION = "[garden] allowed_pod_overrides"


def guarded(argument: str) -> bool:
    """Whether ``argument`` is the operator's unless the allow-list says otherwise."""
    return argument in GUARDED or argument.startswith("host")


def entry_problem(entry: str) -> str | None:
    """Why an allow-list entry (``ARG`` or ``ARG=VALUE``) is not one (None when it is)."""
    argument, sep, value = entry.partition("=")
    if not guarded(argument):
        known = ", ".join(sorted(GUARDED))
        return f"{argument!r} is not an argument this list governs ({known}, host*)"
    if sep and not value:
        return f"{entry!r} names no value after '=' (write {argument} to allow any value)"
    return None


def refused_overrides(arguments: Mapping[str, object], allowed: Collection[str]) -> list[str]:
    """One line per guarded argument in ``arguments`` the allow-list does not admit.

    :param arguments: what the DAG author passed to the operator.
    :param allowed: the allow-list entries (``ARG`` or ``ARG=VALUE``).
    """
    refused = []
    for argument, value in sorted(arguments.items()):
        if not guarded(argument) or argument in allowed:
            continue
        if isinstance(value, str) and f"{argument}={value}" in allowed:
            continue
        entries = f"{argument!r}"
        if isinstance(value, str):
            entries += f" (any value) or {argument + '=' + value!r} (this value)"
        refused.append(
            f"{argument}={value!r}: the operator chooses this itself; a DAG may set it only "
            f"where {OPTION} lists {entries}"
        )
    return refused
