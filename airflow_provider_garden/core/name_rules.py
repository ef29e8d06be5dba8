"""The rules of project and shoot names, checked before anything is created for them.

A project becomes the seed namespace ``garden-<project>`` and the first part of
every control-plane namespace ``shoot--<project>--<name>``. So a project name must
not land in a namespace of the provider's own (``[garden] namespace``), must not
fake the ``--`` separator (``a--b`` + ``c`` and ``a`` + ``b--c`` would share
``shoot--a--b--c``), and must stay text: a digits-only value such as ``123``
becomes the number 123 in a DAG that renders templates as native objects
(``render_template_as_native_obj``), so it is refused here with the rule instead of
failing half-way in whatever code first expects text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from . import naming, shoot_schema
from .spec_fields import FieldError, SpecError

_DNS_LABEL = re.compile(shoot_schema.DNS_LABEL[1:-1])
_LABEL_MAX = 63
#: Gardener's reserved project names; ``system`` is also the provider's default namespace.
RESERVED_PROJECTS = frozenset({"garden", "system"})
#: The longest project whose control-plane namespaces can still hold a one-letter shoot.
PROJECT_MAX = _LABEL_MAX - len(naming.controlplane_namespace("", "x"))
#: The rules in one sentence, for Param descriptions and docs.
PROJECT_RULES = (
    "a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter "
    f"or digit) of at most {PROJECT_MAX} characters, with at least one letter, without '--', "
    f"and none of {', '.join(sorted(RESERVED_PROJECTS))} or the provider's own namespace"
)


def name_problem(value: object) -> str | None:
    """Why ``value`` cannot name a project or a shoot (None when it can): text, DNS label, no ``--``."""
    if not isinstance(value, str):
        return f"{value!r} must be text, got {type(value).__name__}{_native_hint(value)}"
    if not _DNS_LABEL.fullmatch(value) or len(value) > _LABEL_MAX:
        return (
            f"{value!r} must be a DNS-1123 label: lowercase letters, digits and '-', "
            f"starting and ending with a letter or digit, at most {_LABEL_MAX} characters"
        )
    if "--" in value:
        return f"{value!r} must not contain '--' (it separates project and name in namespaces)"
    return None


def reserved_projects(provider_namespace: str) -> frozenset[str]:
    """Project names refused because their namespace is (or reads as) the provider's own."""
    prefix = naming.project_namespace("")
    own = provider_namespace.removeprefix(prefix)
    return RESERVED_PROJECTS | ({own} if provider_namespace.startswith(prefix) and own else set())


def project_problem(value: object, *, provider_namespace: str) -> str | None:
    """Why ``value`` cannot name a project (None when it can); the rule is named in the text.

    :param provider_namespace: ``[garden] namespace``: the project whose namespace
        it would be is refused.
    """
    problem = name_problem(value)
    if problem is not None:
        return problem
    assert isinstance(value, str)  # name_problem refuses everything else
    if value.isdigit():
        return (
            f"{value!r} must contain a letter: a digits-only value becomes a number in "
            "templates rendered as native objects"
        )
    if len(value) > PROJECT_MAX:
        return (
            f"{value!r} has {len(value)} characters, more than {PROJECT_MAX}: "
            f"{naming.controlplane_namespace(value, '<name>')!r} must fit a namespace "
            f"({_LABEL_MAX} characters)"
        )
    if value in reserved_projects(provider_namespace):
        if naming.project_namespace(value) == provider_namespace:
            why = f"its namespace {provider_namespace!r} is the provider's own ([garden] namespace)"
        else:
            why = "the name is kept for the provider's own use"
        return f"{value!r} is reserved: {why}"
    return None


def project_errors(
    named: Iterable[tuple[str, object]], *, provider_namespace: str
) -> list[FieldError]:
    """A FieldError for every ``(field, project)`` pair whose project breaks a rule."""
    errors = []
    for field, value in named:
        problem = project_problem(value, provider_namespace=provider_namespace)
        if problem is not None:
            errors.append(FieldError(field, f"project {problem}"))
    return errors


def ensure_projects(named: Iterable[tuple[str, object]], *, provider_namespace: str) -> None:
    """Raise SpecError naming each field, value and rule (arguments as for ``project_errors``)."""
    errors = project_errors(named, provider_namespace=provider_namespace)
    if errors:
        raise SpecError("project", errors)


def _native_hint(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (
            " (a digits-only name becomes a number in templates rendered as native objects;"
            " use a name with a letter)"
        )
    return ""
