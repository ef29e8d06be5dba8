"""`garden install`, `garden shoots ls`, `garden kubeconfig PROJECT/NAME --user U`: the fleet for people."""

from __future__ import annotations

import argparse
import base64
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from airflow_provider_garden.cli.output import Render, add_output_flag, age, emit
from airflow_provider_garden.core import naming, pki
from airflow_provider_garden.core.controlplane.secrets import decode
from airflow_provider_garden.core.member_access import (
    AccessError,
    member_kubeconfig,
    parse_expiration,
)
from airflow_provider_garden.core.project import missing_project
from airflow_provider_garden.core.settings import DEFAULT_NAMESPACE
from airflow_provider_garden.core.spec_fields import SpecError
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.projects import PROJECT_API_VERSION, Projects
from airflow_provider_garden.kube.shoots import Shoots

if TYPE_CHECKING:
    from airflow_provider_garden.core.status import ShootStatus, WorkerPoolStatus


def _kube(args: argparse.Namespace) -> KubeClient:
    return KubeClient.from_kubeconfig(args.kubeconfig)


def project_and_name(text: str) -> tuple[str, str]:
    project, sep, name = text.partition("/")
    if not sep or not project or not name:
        raise argparse.ArgumentTypeError(f"expected PROJECT/NAME, got {text!r}")
    return project, name


def install(args: argparse.Namespace) -> int:
    """Install the CRDs, the operators' accounts, the seed policy and the CloudProfile."""
    from airflow_provider_garden.kube.bootstrap import install as do_install
    from airflow_provider_garden.kube.cloudprofile import from_json
    from airflow_provider_garden.localseed.profile import local_profile

    try:
        profile = (
            from_json(yaml.safe_load(Path(args.profile).read_text()))
            if args.profile
            else local_profile()
        )
    except (OSError, KeyError, SpecError, yaml.YAMLError) as err:
        print(f"garden: error: --profile {args.profile}: {err}", file=sys.stderr)
        return 1
    do_install(_kube(args), namespace=args.namespace, profile=profile)
    print(f"installed into namespace {args.namespace}")
    return 0


def shoots_ls(args: argparse.Namespace) -> int:
    """List the fleet: every Shoot with version, last operation and health (-o wide: its
    control-plane namespace in the seed, UID, worker pools with image versions and
    Ready/total, last good backup, age)."""
    from airflow_provider_garden.core.shoot_health import shoot_health
    from airflow_provider_garden.core.status import ShootStatus, StatusError

    kube = _kube(args)
    items = []
    for shoot in Shoots(kube).list(args.project):
        try:
            status: ShootStatus | None = ShootStatus.from_shoot(shoot)
        except StatusError:  # shoot_health names the field in the HEALTH column's verdict
            status = None
        last = status.last_operation if status else None
        meta = shoot["metadata"]
        project = meta["namespace"].removeprefix("garden-")
        backup = status.last_backup if status else None
        items.append(
            {
                "project": project,
                "name": meta["name"],
                "version": shoot["spec"]["kubernetes"]["version"],
                "operation": last.type.value if last else None,
                "state": last.state.value if last else None,
                "progress": last.progress if last else 0,
                "health": shoot_health(shoot).verdict.value,
                "controlPlaneNamespace": naming.controlplane_namespace(project, meta["name"]),
                "uid": meta.get("uid"),
                "workers": _pools(shoot, status),
                "lastBackup": backup.created.isoformat() if backup and backup.created else None,
                "created": meta.get("creationTimestamp"),
            }
        )
    project_gone = args.project and not items
    if project_gone and kube.find(PROJECT_API_VERSION, "Project", args.project) is None:
        raise LookupError(f"project {args.project!r} does not exist (no Project resource)")
    emit(items, SHOOT_COLUMNS, args.output, wide=SHOOT_WIDE_COLUMNS, render=SHOOT_RENDER)
    return 0


def _pools(shoot: dict[str, Any], status: ShootStatus | None) -> list[dict[str, Any]]:
    """Each worker pool: its image as the spec wants it, its machines Ready/total as
    the status last saw them (None before the first report)."""
    observed: Mapping[str, WorkerPoolStatus] = status.workers if status else {}
    pools = []
    for worker in shoot["spec"].get("workers") or []:
        image = (worker.get("machine") or {}).get("image") or {}
        seen = observed.get(worker.get("name"))
        pools.append(
            {
                "name": worker.get("name"),
                "image": f"{image.get('name')}/{image.get('version')}",
                "minimum": worker.get("minimum"),
                "maximum": worker.get("maximum"),
                "ready": seen.ready if seen else None,
                "machines": seen.machines if seen else None,
            }
        )
    return pools


def _pools_cell(pools: list[dict[str, Any]]) -> str:
    """``pool-a=gardenlinux/1592.2:2/3`` per pool (Ready/machines; ``?`` before a report)."""
    if not pools:
        return "-"
    return ",".join(
        f"{p['name']}={p['image']}:"
        + ("?" if p["machines"] is None else f"{p['ready']}/{p['machines']}")
        for p in pools
    )


SHOOT_COLUMNS = {
    "project": "PROJECT",
    "name": "NAME",
    "version": "VERSION",
    "operation": "OPERATION",
    "state": "STATE",
    "progress": "PROGRESS",
    "health": "HEALTH",
}
SHOOT_WIDE_COLUMNS = {
    "controlPlaneNamespace": "CONTROLPLANE",
    "uid": "UID",
    "workers": "WORKERS",
    "lastBackup": "BACKUP",
    "created": "AGE",
}
SHOOT_RENDER: dict[str, Render] = {"workers": _pools_cell, "lastBackup": age, "created": age}


def kubeconfig(args: argparse.Namespace) -> int:
    """Print a kubeconfig for a project member, valid for --expiration (default 1h).

    A client certificate from the shoot's CA naming the member, in the group of their
    role in the project (admins: cluster-admin, viewers: view); it ends by itself. The
    shoot's long-lived admin kubeconfig is the provider's own and is not printed.
    """
    project_name, name = args.shoot
    try:
        expiration = parse_expiration(args.expiration)
    except AccessError as err:  # a usage error: status 2, as argparse's
        print(f"garden: error: {err}", file=sys.stderr)
        return 2
    kube = _kube(args)  # refusals below are failures: one line, status 1 (cli/main.py)
    project = Projects(kube, provider_namespace=args.garden_namespace).find(project_name)
    if project is None:
        raise AccessError(missing_project(project_name))
    if Shoots(kube).find(project_name, name) is None:
        raise LookupError(
            f"shoot {project_name}/{name} does not exist (no Shoot {name!r} in namespace "
            f"{naming.project_namespace(project_name)}); nothing was issued"
        )
    role = project.role_of(args.user)
    if role is None:
        raise AccessError(
            f"--user: {args.user!r} is not a member of project {project_name!r}; nothing was issued"
        )
    admin = _admin_kubeconfig(kube, project_name, name, in_seed=args.in_seed)
    ca = decode(_secret(kube, "ca", naming.controlplane_namespace(project_name, name)))
    issued = member_kubeconfig(
        pki.KeyPair(key_pem=ca["tls.key"], cert_pem=ca["tls.crt"]),
        user=args.user,
        role=role,
        expiration=expiration,
        cluster_name=str(admin["clusters"][0]["name"]),
        server=str(admin["clusters"][0]["cluster"]["server"]),
    )
    sys.stdout.write(issued.text)
    until = issued.expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    print(
        f"{project_name}/{name}: {issued.user} ({role}, group {issued.group}) until {until}",
        file=sys.stderr,
    )
    return 0


def _secret(kube: KubeClient, name: str, namespace: str) -> dict[str, str]:
    secret = kube.find("v1", "Secret", name, namespace)
    if secret is None:
        raise AccessError(f"no Secret {namespace}/{name}: has the shoot been reconciled?")
    return dict(secret.get("data") or {})


def _admin_kubeconfig(kube: KubeClient, project: str, name: str, *, in_seed: bool) -> Any:
    """The shoot's admin kubeconfig: only its cluster (server, CA) is used here."""
    data = _secret(kube, naming.kubeconfig_secret(name), naming.project_namespace(project))
    key = "kubeconfig" if in_seed else "kubeconfig-external"
    return yaml.safe_load(base64.b64decode(data[key]))


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("install", help=install.__doc__)
    p.add_argument(
        "--namespace",
        default=DEFAULT_NAMESPACE,
        help="the provider's namespace; must match [garden] namespace (default: %(default)s)",
    )
    p.add_argument(
        "--profile",
        help="the seed's CloudProfile, a JSON or YAML file as the ConfigMap's profile.json "
        "(kubernetesVersions, machineImages, seedNetworks); default: the local seed's",
    )
    p.set_defaults(run=install)

    shoots = commands.add_parser("shoots", help="the fleet").add_subparsers(
        dest="shoots_cmd", required=True
    )
    ls = shoots.add_parser("ls", help=shoots_ls.__doc__)
    ls.add_argument("--project", help="only this project")
    add_output_flag(ls)
    ls.set_defaults(run=shoots_ls)

    kc = commands.add_parser("kubeconfig", help=kubeconfig.__doc__)
    kc.add_argument("shoot", type=project_and_name, metavar="PROJECT/NAME")
    kc.add_argument("--user", required=True, help="the member (Airflow user name) it is for")
    kc.add_argument(
        "--expiration",
        default="1h",
        help="how long it is valid: 1m to 24h, e.g. 30m, 1h, 90s (default: %(default)s)",
    )
    kc.add_argument("--in-seed", action="store_true", help="the variant for pods inside the seed")
    kc.add_argument(
        "--garden-namespace",
        default=DEFAULT_NAMESPACE,
        help="the provider's namespace ([garden] namespace; default: %(default)s)",
    )
    kc.set_defaults(run=kubeconfig)
