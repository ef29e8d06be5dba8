"""`garden install`, `garden shoots ls`, `garden kubeconfig PROJECT/NAME`: the fleet for people."""

from __future__ import annotations

import argparse
import base64
import sys

from airflow_provider_garden.core import naming
from airflow_provider_garden.core.settings import DEFAULT_NAMESPACE
from airflow_provider_garden.kube.client import KubeClient


def _kube(args: argparse.Namespace) -> KubeClient:
    return KubeClient.from_kubeconfig(args.kubeconfig)


def project_and_name(text: str) -> tuple[str, str]:
    project, sep, name = text.partition("/")
    if not sep or not project or not name:
        raise argparse.ArgumentTypeError(f"expected PROJECT/NAME, got {text!r}")
    return project, name


def install(args: argparse.Namespace) -> int:
    """Install the Shoot CRD, the operators' accounts and the CloudProfile into the seed."""
    from airflow_provider_garden.kube.bootstrap import install as do_install
    from airflow_provider_garden.localseed.profile import local_profile

    do_install(_kube(args), namespace=args.namespace, profile=local_profile())
    print(f"installed into namespace {args.namespace}")
    return 0


def shoots_ls(args: argparse.Namespace) -> int:
    """List the fleet: every Shoot with version, last operation and health."""
    from airflow_provider_garden.core.shoot_health import shoot_health
    from airflow_provider_garden.core.status import ShootStatus, StatusError
    from airflow_provider_garden.kube.shoots import Shoots

    rows = [("PROJECT", "NAME", "VERSION", "OPERATION", "STATE", "PROGRESS", "HEALTH")]
    for shoot in Shoots(_kube(args)).list(args.project):
        try:
            last = ShootStatus.from_shoot(shoot).last_operation
        except StatusError:  # shoot_health names the field in the HEALTH column's verdict
            last = None
        rows.append(
            (
                shoot["metadata"]["namespace"].removeprefix("garden-"),
                shoot["metadata"]["name"],
                shoot["spec"]["kubernetes"]["version"],
                last.type.value if last else "-",
                last.state.value if last else "-",
                f"{last.progress if last else 0}%",
                shoot_health(shoot).verdict.value,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def kubeconfig(args: argparse.Namespace) -> int:
    """Print a shoot's admin kubeconfig for use outside the seed."""
    project, name = args.shoot
    secret = _kube(args).get(
        "v1", "Secret", naming.kubeconfig_secret(name), naming.project_namespace(project)
    )
    key = "kubeconfig" if args.in_seed else "kubeconfig-external"
    sys.stdout.write(base64.b64decode(secret["data"][key]).decode())
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("install", help=install.__doc__)
    p.add_argument(
        "--namespace",
        default=DEFAULT_NAMESPACE,
        help="the provider's namespace; must match [garden] namespace (default: %(default)s)",
    )
    p.set_defaults(run=install)

    shoots = commands.add_parser("shoots", help="the fleet").add_subparsers(
        dest="shoots_cmd", required=True
    )
    ls = shoots.add_parser("ls", help=shoots_ls.__doc__)
    ls.add_argument("--project", help="only this project")
    ls.set_defaults(run=shoots_ls)

    kc = commands.add_parser("kubeconfig", help=kubeconfig.__doc__)
    kc.add_argument("shoot", type=project_and_name, metavar="PROJECT/NAME")
    kc.add_argument("--in-seed", action="store_true", help="the variant for pods inside the seed")
    kc.set_defaults(run=kubeconfig)
