"""Projects: who may act on a project's shoots, and how much the project may hold.

A Project (the cluster-scoped resource of :mod:`.crds.project`) names its namespace
(``garden-<project>``), its members (Airflow user names, each an ``admin`` or a
``viewer``), the owner a run without a triggering user (a scheduled run) acts as,
and its quota. Everything here is pure: reading the resource into a typed
:class:`Project` (every malformed field named), and the two decisions every
operator takes before it creates anything: may this user act with this role
(:func:`access_problem`), and does one more shoot or machine fit the quota
(:func:`quota_problem`). Each returns the refusal's text, or None.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from . import naming
from .name_rules import project_problem
from .spec_fields import FieldError, SpecError
from .status import ErrorCode


class Role(enum.StrEnum):
    """A member's role: a viewer may read (sensors), an admin may also change."""

    ADMIN = "admin"
    VIEWER = "viewer"


#: what each role may do, as the roles it includes
_INCLUDES = {Role.ADMIN: frozenset(Role), Role.VIEWER: frozenset({Role.VIEWER})}


@dataclass(frozen=True)
class Member:
    name: str
    role: Role


@dataclass(frozen=True)
class Quota:
    """Limits of one project; None: no limit."""

    max_shoots: int | None = None
    max_machines: int | None = None


@dataclass(frozen=True)
class Project:
    name: str
    owner: str
    members: tuple[Member, ...] = ()
    quota: Quota = Quota()

    @property
    def namespace(self) -> str:
        return naming.project_namespace(self.name)

    def role_of(self, user: str) -> Role | None:
        """The strongest role ``user`` holds in this project (None: not a member)."""
        roles = {m.role for m in self.members if m.name == user}
        return Role.ADMIN if Role.ADMIN in roles else next(iter(roles), None)


@dataclass(frozen=True)
class Actor:
    """Who a run acts as, and why (the refusal says which)."""

    user: str
    why: str


def acting_user(triggering_user: str | None, project: Project) -> Actor:
    """The run's triggering user; a run without one (scheduled) acts as the project's owner."""
    if triggering_user:
        return Actor(triggering_user, "the run's triggering user")
    return Actor(
        project.owner, f"the owner of project {project.name!r} (the run has no triggering user)"
    )


def missing_project(name: str) -> str:
    """The refusal of a project that has no Project resource."""
    return (
        f"project {name!r} does not exist (no Project resource {name!r}): create it first "
        f"(garden projects create {name} --owner USER); nothing was created"
    )


def access_problem(
    project: Project,
    actor: Actor,
    needed: Role,
    *,
    operation: str,
    installation_admins: Sequence[str] = (),
) -> str | None:
    """Why ``actor`` may not do ``operation`` (which needs ``needed``) in ``project``; None if it may.

    :param installation_admins: ``[garden] project_admins``: admins of every project.
    """
    if actor.user in installation_admins:
        return None
    role = project.role_of(actor.user)
    if role is not None and needed in _INCLUDES[role]:
        return None
    held = "is not a member of" if role is None else f"is only {role} in"
    return (
        f"user {actor.user!r} ({actor.why}) {held} project {project.name!r}: "
        f"{operation} needs role {needed} in project {project.name!r}; nothing was created"
    )


def quota_problem(
    project: Project, machines_by_shoot: Mapping[str, int], *, shoot: str, machines: int
) -> str | None:
    """Why ``shoot`` with up to ``machines`` machines does not fit ``project``'s quota; None if it does.

    :param machines_by_shoot: the project's shoots now (name -> most machines it may
        have: the sum of its pools' maximum); ``shoot`` itself, if there, is replaced.
    """
    others = {name: count for name, count in machines_by_shoot.items() if name != shoot}
    quota, code = project.quota, ErrorCode.INFRA_QUOTA_EXCEEDED
    if quota.max_shoots is not None and len(others) + 1 > quota.max_shoots:
        return (
            f"{code}: project {project.name!r} has quota maxShoots={quota.max_shoots} and "
            f"{len(others)} shoot(s) ({', '.join(sorted(others))}): shoot {shoot!r} is refused; "
            "nothing was created"
        )
    total = sum(others.values()) + machines
    if quota.max_machines is not None and total > quota.max_machines:
        return (
            f"{code}: project {project.name!r} has quota maxMachines={quota.max_machines}: its "
            f"other shoots may have {total - machines} machine(s) and shoot {shoot!r} up to "
            f"{machines} (its pools' maximum), {total} in all; nothing was created"
        )
    return None


def shoot_machines(spec: Mapping[str, object]) -> int:
    """The most machines a Shoot's ``spec`` may have: the sum of its pools' maximum."""
    workers = spec.get("workers") or []
    assert isinstance(workers, Sequence)
    return sum(int(w.get("maximum", 0)) for w in workers if isinstance(w, Mapping))


# --- the resource ------------------------------------------------------------
def parse_project(resource: Mapping[str, object], *, provider_namespace: str) -> Project:
    """The typed Project of a resource; SpecError naming every malformed field and its rule."""
    meta = resource.get("metadata")
    name = meta.get("name") if isinstance(meta, Mapping) else None
    errors: list[FieldError] = []
    problem = project_problem(name, provider_namespace=provider_namespace)
    if problem is not None:
        errors.append(FieldError("metadata.name", f"project {problem}"))
    spec = resource.get("spec")
    spec = spec if isinstance(spec, Mapping) else {}
    namespace = spec.get("namespace")
    if isinstance(name, str) and namespace not in (None, naming.project_namespace(name)):
        errors.append(
            FieldError(
                "spec.namespace",
                f"must be {naming.project_namespace(name)!r} (a project's Shoots live in "
                f"garden-<project>), got {namespace!r}",
            )
        )
    owner = spec.get("owner")
    if not isinstance(owner, str) or not owner:
        errors.append(FieldError("spec.owner", f"must be a user name, got {owner!r}"))
    members = _members(spec.get("members"), errors)
    quota = _quota(spec.get("quota"), errors)
    if errors:
        raise SpecError(f"Project {name!r}", errors)
    assert isinstance(name, str)
    assert isinstance(owner, str)
    return Project(name=name, owner=owner, members=members, quota=quota)


def _members(value: object, errors: list[FieldError]) -> tuple[Member, ...]:
    if value is None:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str):
        errors.append(FieldError("spec.members", "must be a list of {name, role}"))
        return ()
    members = []
    for index, item in enumerate(value):
        path = f"spec.members[{index}]"
        entry = item if isinstance(item, Mapping) else {}
        name, role = entry.get("name"), entry.get("role")
        if not isinstance(name, str) or not name:
            errors.append(FieldError(f"{path}.name", f"must be a user name, got {name!r}"))
        if role not in tuple(Role):
            errors.append(
                FieldError(f"{path}.role", f"must be one of {', '.join(Role)}, got {role!r}")
            )
        if isinstance(name, str) and name and role in tuple(Role):
            members.append(Member(name, Role(str(role))))
    return tuple(members)


def _quota(value: object, errors: list[FieldError]) -> Quota:
    if value is None:
        return Quota()
    if not isinstance(value, Mapping):
        errors.append(FieldError("spec.quota", "must be an object {maxShoots, maxMachines}"))
        return Quota()
    limits: dict[str, int | None] = {}
    for key in ("maxShoots", "maxMachines"):
        limit = value.get(key)
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            errors.append(
                FieldError(f"spec.quota.{key}", f"must be an integer >= 0, got {limit!r}")
            )
            limit = None
        limits[key] = limit
    return Quota(max_shoots=limits["maxShoots"], max_machines=limits["maxMachines"])


def project_resource(project: Project, *, api_version: str) -> dict[str, object]:
    """The Project resource of ``project`` (what `garden projects create` applies)."""
    quota = {
        key: value
        for key, value in (
            ("maxShoots", project.quota.max_shoots),
            ("maxMachines", project.quota.max_machines),
        )
        if value is not None
    }
    return {
        "apiVersion": api_version,
        "kind": "Project",
        "metadata": {"name": project.name},
        "spec": {
            "namespace": project.namespace,
            "owner": project.owner,
            "members": [{"name": m.name, "role": str(m.role)} for m in project.members],
            **({"quota": quota} if quota else {}),
        },
    }
