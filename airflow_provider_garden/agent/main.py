"""`garden-agent`: the verbs operator pods run inside the toolbox image.

Each verb does its I/O, prints human progress to stderr and one JSON result to
stdout (also written where the operator reads it, see `result.py`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from airflow_provider_garden import __version__
from airflow_provider_garden.agent import care, etcd_verbs, kustomize, machines
from airflow_provider_garden.agent.result import emit
from airflow_provider_garden.agent.tools import kubectl
from airflow_provider_garden.core.toolbox import TOOLBOX_IMAGE

Verb = Callable[[argparse.Namespace], dict[str, Any]]


def _tool_version(argv: list[str]) -> str | None:
    if shutil.which(argv[0]) is None:
        return None
    out = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    return (out.stdout or out.stderr).strip().splitlines()[0] if out.returncode == 0 else None


def version(_: argparse.Namespace) -> dict[str, Any]:
    """Report this agent's version and the tools the image carries."""
    return {
        "agent": __version__,
        "python": sys.version.split()[0],
        "kubectl": _tool_version([kubectl(), "version", "--client"]),
        "etcdctl": _tool_version(["etcdctl", "version"]),
        "etcdutl": _tool_version(["etcdutl", "version"]),
        "etcd": _tool_version(["etcd", "--version"]),  # the server restore drills start
    }


def shoot_reconcile(args: argparse.Namespace) -> dict[str, Any]:
    """Bring a shoot's control plane to its spec (create or reconcile)."""
    from airflow_provider_garden.agent import shoot_reconcile as sr
    from airflow_provider_garden.kube.client import KubeClient
    from airflow_provider_garden.kube.shoots import Shoots

    kube = KubeClient.from_kubeconfig(args.kubeconfig)
    return sr.reconcile(
        kube,
        Shoots(kube),
        args.project,
        args.name,
        holder=sr.holder_identity(),
        garden_namespace=args.garden_namespace,
        desired=json.loads(args.desired_shoot) if args.desired_shoot else None,
        kubernetes_version=args.kubernetes_version,
        planned_from=args.planned_from,
        toolbox_image=args.toolbox_image,
    )


def shoot_delete(args: argparse.Namespace) -> dict[str, Any]:
    """Delete a shoot's control plane, its Secrets and the Shoot resource."""
    from airflow_provider_garden.agent import shoot_delete as sd
    from airflow_provider_garden.agent.shoot_reconcile import holder_identity
    from airflow_provider_garden.kube.client import KubeClient
    from airflow_provider_garden.kube.shoots import Shoots

    kube = KubeClient.from_kubeconfig(args.kubeconfig)
    return sd.delete(kube, Shoots(kube), args.project, args.name, holder=holder_identity())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="garden-agent", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "--kubeconfig", help="seed kubeconfig (default: in-cluster, then $KUBECONFIG)"
    )
    parser.add_argument(
        "--garden-namespace",
        help="namespace of the provider's own objects ([garden] namespace; operators pass it, "
        "verbs that need it refuse to run without it)",
    )
    verbs = parser.add_subparsers(dest="verb", required=True)
    verbs.add_parser("version", help=version.__doc__).set_defaults(run=version)

    shoot = verbs.add_parser("shoot", help="shoot control planes").add_subparsers(
        dest="shoot_verb", required=True
    )
    reconcile = shoot.add_parser("reconcile", help=shoot_reconcile.__doc__)
    reconcile.add_argument("--project", required=True)
    reconcile.add_argument("--name", required=True)
    reconcile.add_argument(
        "--desired-shoot",
        help="the Shoot (JSON) to apply first, holding the shoot's Lease (ShootCreate with a "
        "spec); default: reconcile the spec the Shoot has",
    )
    reconcile.add_argument(
        "--kubernetes-version",
        help="write this version into spec.kubernetes.version first, holding the shoot's "
        "Lease (maintenance's patch update); default: reconcile the spec as it is",
    )
    reconcile.add_argument(
        "--planned-from",
        help="with --kubernetes-version: the version the spec named when the update was "
        "planned; a spec naming another now is refused, not overwritten",
    )
    reconcile.add_argument(
        "--toolbox-image",
        default=TOOLBOX_IMAGE,
        help="image of etcd's data check ([garden] toolbox_image; default: this agent's)",
    )
    reconcile.set_defaults(run=shoot_reconcile, needs_garden_namespace=True)
    delete = shoot.add_parser("delete", help=shoot_delete.__doc__)
    delete.add_argument("--project", required=True)
    delete.add_argument("--name", required=True)
    delete.set_defaults(run=shoot_delete)
    care.register(verbs)
    kustomize.register(verbs)
    machines.register(verbs)
    etcd_verbs.register(verbs)
    return parser


def _exit_on_sigterm(signum: int, _: object) -> None:
    raise SystemExit(128 + signum)


HOLD_RELEASE = Path("/tmp/garden-agent-release")


def _hold() -> None:
    """Test seam: GARDEN_AGENT_HOLD_SECONDS keeps the pod Running (asleep) before the verb
    runs, so tests can stop a task while its pod runs; creating HOLD_RELEASE in the
    container ends the hold early. Unset outside tests."""
    seconds = float(os.environ.get("GARDEN_AGENT_HOLD_SECONDS") or 0)
    if seconds <= 0:
        return
    logging.info("holding %.0fs before the verb (GARDEN_AGENT_HOLD_SECONDS)", seconds)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not HOLD_RELEASE.exists():
        time.sleep(0.5)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
    )
    # The agent is PID 1 of its container, and PID 1 ignores SIGTERM without a handler:
    # a deleted pod would linger for its whole grace period. Exit instead; `finally`
    # blocks (lease release, temporary files) still run on the way out.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "needs_garden_namespace", False) and not args.garden_namespace:
        parser.error("--garden-namespace is required by this verb (the [garden] namespace)")
    _hold()
    run: Verb = args.run
    print(emit(run(args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
