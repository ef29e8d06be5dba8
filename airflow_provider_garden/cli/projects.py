"""`garden projects create NAME --owner USER`, `ls`, `adopt --owner USER`: projects for people.

A project's namespace ``garden-<project>`` is made here (and by ShootCreate from
the Project), never from a DAG Param alone.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from airflow_provider_garden.cli.output import add_output_flag, age, emit
from airflow_provider_garden.core import naming
from airflow_provider_garden.core.project import Member, Project, Quota, Role, parse_project
from airflow_provider_garden.core.project import project_resource as to_resource
from airflow_provider_garden.core.settings import DEFAULT_NAMESPACE
from airflow_provider_garden.core.spec_fields import SpecError
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.projects import PROJECT_API_VERSION, Projects
from airflow_provider_garden.kube.resources import SHOOT_API_VERSION


def requested_project(args: argparse.Namespace) -> Project:
    """The Project the arguments describe; the owner is an admin unless named otherwise.

    Raises SpecError naming each field and rule (the same checks as reading one back).
    """
    members = [Member(name, Role.ADMIN) for name in args.admin]
    members += [Member(name, Role.VIEWER) for name in args.viewer]
    if args.owner not in {m.name for m in members}:
        members.insert(0, Member(args.owner, Role.ADMIN))
    project = Project(
        name=args.name,
        owner=args.owner,
        members=tuple(members),
        quota=Quota(max_shoots=args.max_shoots, max_machines=args.max_machines),
    )
    # Through the resource's own reader: the name rules and the fields, in one place.
    return parse_project(
        to_resource(project, api_version=PROJECT_API_VERSION),
        provider_namespace=args.garden_namespace,
    )


def projects_create(args: argparse.Namespace) -> int:
    try:
        project = requested_project(args)
    except SpecError as err:
        print(f"garden: error: {err}", file=sys.stderr)
        return 2
    projects = Projects(
        KubeClient.from_kubeconfig(args.kubeconfig), provider_namespace=args.garden_namespace
    )
    projects.apply(project)
    projects.ensure_namespace(project)
    print(f"project {project.name}: namespace {project.namespace}, owner {project.owner}")
    return 0


def projects_adopt(args: argparse.Namespace) -> int:
    """Make a Project for each project whose namespace holds Shoots but has none (an
    install from before Projects: every operator refuses a project without one)."""
    projects = Projects(
        KubeClient.from_kubeconfig(args.kubeconfig), provider_namespace=args.garden_namespace
    )
    orphans = {
        name: shoots
        for name, shoots in projects.without_project().items()
        if not args.names or name in args.names
    }
    for name in args.names:  # a name that is neither an orphan nor a Project: a typo
        if name not in orphans and projects.find(name) is None:
            raise LookupError(
                f"project {name}: nothing to adopt: no Project, and no Shoot in namespace "
                f"{naming.project_namespace(name)}"
            )
    if not orphans:
        print("every namespace with shoots has its Project")
        return 0
    refused = 0
    for name, shoots in orphans.items():
        try:
            project = requested_project(argparse.Namespace(**{**vars(args), "name": name}))
        except SpecError as err:
            print(f"garden: error: {name}: {err}", file=sys.stderr)
            refused += 1
            continue
        if not args.dry_run:
            projects.apply(project)
            projects.ensure_namespace(project)
        verb = "would adopt" if args.dry_run else "adopted"
        print(f"{verb} project {name} ({shoots} shoot(s)): owner {project.owner}")
    return 2 if refused else 0


PROJECT_COLUMNS = {
    "name": "PROJECT",
    "owner": "OWNER",
    "members": "MEMBERS",
    "maxShoots": "MAXSHOOTS",
    "maxMachines": "MAXMACHINES",
}
PROJECT_WIDE_COLUMNS = {
    "namespace": "NAMESPACE",
    "shoots": "SHOOTS",
    "uid": "UID",
    "created": "AGE",
}


def projects_ls(args: argparse.Namespace) -> int:
    """List projects, owners, members and quotas (-o wide: namespace, number of shoots,
    UID, age)."""
    kube = KubeClient.from_kubeconfig(args.kubeconfig)
    shoots = Counter(str(s["metadata"]["namespace"]) for s in kube.list(SHOOT_API_VERSION, "Shoot"))
    items: list[dict[str, object]] = []
    for item in kube.list(PROJECT_API_VERSION, "Project"):
        meta = item["metadata"]
        namespace = naming.project_namespace(meta["name"])
        wide = {
            "namespace": namespace,
            "shoots": shoots[namespace],
            "uid": meta.get("uid"),
            "created": meta.get("creationTimestamp"),
        }
        try:
            p = parse_project(item, provider_namespace=args.garden_namespace)
        except SpecError as err:
            items.append({"name": meta["name"], "owner": f"(invalid: {err.errors[0]})", **wide})
            continue
        items.append(
            {
                "name": p.name,
                "owner": p.owner,
                "members": ",".join(f"{m.name}={m.role}" for m in p.members),
                "maxShoots": p.quota.max_shoots,
                "maxMachines": p.quota.max_machines,
                **wide,
            }
        )
    emit(items, PROJECT_COLUMNS, args.output, wide=PROJECT_WIDE_COLUMNS, render={"created": age})
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("projects", help="create and list projects (who may act, quota)")
    verbs = group.add_subparsers(dest="verb", required=True, metavar="VERB")
    create = verbs.add_parser("create", help="create or update a Project and its namespace")
    create.add_argument("name", help="project name (garden-<name> becomes its namespace)")
    create.add_argument(
        "--owner", required=True, help="Airflow user scheduled runs act as (an admin)"
    )
    create.add_argument("--admin", action="append", default=[], help="Airflow user with role admin")
    create.add_argument(
        "--viewer", action="append", default=[], help="Airflow user with role viewer"
    )
    create.add_argument("--max-shoots", type=int, default=None, help="quota: most shoots")
    create.add_argument("--max-machines", type=int, default=None, help="quota: most machines")
    create.set_defaults(run=projects_create)
    ls = verbs.add_parser("ls", help=projects_ls.__doc__)
    add_output_flag(ls)
    ls.set_defaults(run=projects_ls)
    adopt = verbs.add_parser("adopt", help=projects_adopt.__doc__)
    adopt.add_argument("names", nargs="*", metavar="NAME", help="only these projects")
    adopt.add_argument("--owner", required=True, help="Airflow user scheduled runs act as")
    adopt.add_argument("--admin", action="append", default=[], help="Airflow user with role admin")
    adopt.add_argument(
        "--viewer", action="append", default=[], help="Airflow user with role viewer"
    )
    adopt.add_argument("--dry-run", action="store_true", help="say what would be adopted")
    adopt.set_defaults(run=projects_adopt, max_shoots=None, max_machines=None)
    for parser in (create, ls, adopt):
        parser.add_argument(
            "--garden-namespace",
            default=DEFAULT_NAMESPACE,
            help=f"the provider's namespace ([garden] namespace; default {DEFAULT_NAMESPACE})",
        )
