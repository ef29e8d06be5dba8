"""`garden-agent machines rollout|heal`: roll a worker pool to its spec's machine image,
or replace the shoot's unhealthy machines.

Two API servers are involved. The seed holds the Shoot (its spec, the status this
verb writes) and the shoot's operation Lease; the shoot holds the machines
(Nodes), the pods to drain and their budgets. Credentials for each:

- seed: in-cluster (the ``garden-machines`` ServiceAccount of the project
  namespace, allowed only the Shoots (read, and patch: a rollout's target version),
  their status and the Lease there) or ``--kubeconfig``;
- shoot: ``--shoot-kubeconfig``, the admin kubeconfig Secret the operator pod
  mounts; from a shell, omitted, it is read from that Secret through the seed API
  with the caller's own credentials.

SIGTERM (the pod deleted, the task killed) ends the agent with SystemExit (see
``main``): the rollout records itself as Aborted and releases the Lease on the
way out; a re-run resumes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
from typing import TYPE_CHECKING, Any

from airflow_provider_garden.agent.options import add_setting_seconds, positive
from airflow_provider_garden.core import intstr
from airflow_provider_garden.core.settings import DEFAULTS

if TYPE_CHECKING:
    from airflow_provider_garden.kube.client import KubeClient


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Replace the pool's machines with machines on its spec's image, safely."""
    from airflow_provider_garden.agent.machine_rollout import MachineRollout, RolloutOptions

    seed, shoot = _clients(args)
    options = RolloutOptions(
        pool=args.pool,
        force_drain=args.force_drain,
        creation_timeout=dt.timedelta(seconds=args.creation_timeout),
        drain_timeout=dt.timedelta(seconds=args.drain_timeout),
        max_unhealthy=args.max_unhealthy,
        freeze_after=args.freeze_after,
        interval=args.interval,
        lease_wait=args.lease_wait,
        image_version=args.image_version,
    )
    return MachineRollout(
        seed=seed,
        shoot=shoot,
        project=args.project,
        name=args.name,
        options=options,
        holder=_holder(),
    ).run()


def heal(args: argparse.Namespace) -> dict[str, Any]:
    """Replace the shoot's machines unhealthy past their pool's machineHealthTimeout and
    refill its pools below their minimum."""
    from airflow_provider_garden.agent.machine_health import HealOptions, heal_shoot

    seed, shoot = _clients(args)
    options = HealOptions(
        force_drain=args.force_drain,
        creation_timeout=dt.timedelta(seconds=args.creation_timeout),
        drain_timeout=dt.timedelta(seconds=args.drain_timeout),
        interval=args.interval,
    )
    result = heal_shoot(
        seed,
        shoot,
        args.project,
        args.name,
        holder=_holder(),
        options=options,
    )
    return {"project": args.project, "name": args.name, **result.to_dict()}


def _clients(args: argparse.Namespace) -> tuple[KubeClient, KubeClient]:
    """The seed's client and the shoot's (``--shoot-kubeconfig``, else read from its Secret)."""
    from airflow_provider_garden.agent import shoot_access
    from airflow_provider_garden.kube.client import KubeClient

    seed = KubeClient.from_kubeconfig(args.kubeconfig)
    shoot = shoot_access.shoot_client(
        seed, args.project, args.name, kubeconfig_file=args.shoot_kubeconfig
    )
    return seed, shoot


def _holder() -> str:
    # The pod name in a pod; beside it the PID, so two shell runs never share a holder.
    return f"{socket.gethostname()}/{os.getpid()}"


def _int_or_percent(value: str) -> intstr.IntOrPercent:
    try:
        return intstr.check(int(value) if value.isdigit() else value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``machines rollout`` and ``machines heal`` to garden-agent's verbs."""
    machines = verbs.add_parser("machines", help="worker pool machines").add_subparsers(
        dest="machines_verb", required=True
    )
    p = machines.add_parser("rollout", help=run.__doc__)
    _add_shoot_options(p)
    p.add_argument("--pool", required=True, help="worker pool name")
    p.add_argument(
        "--image-version",
        help="write this machine image version into the pool's spec first, holding the "
        "shoot's Lease (default: roll to the version the spec names)",
    )
    p.add_argument(
        "--force-drain",
        action="store_true",
        help="after the drain timeout delete the pods left, past their budgets (and start "
        "even when a budget allows no disruption); evict bare pods and emptyDir data",
    )
    add_setting_seconds(
        p,
        "--creation-timeout",
        setting="machine_creation_timeout",
        help="seconds a new machine may take to become Ready",
    )
    add_setting_seconds(
        p, "--drain-timeout", setting="drain_timeout", help="seconds a drain may take"
    )
    p.add_argument(
        "--max-unhealthy",
        type=_int_or_percent,
        default="25%",
        help="refuse to start when more machines than this are not Ready (default: 25%%)",
    )
    p.add_argument(
        "--freeze-after",
        type=int,
        default=3,
        help="freeze after this many new machines failed to become Ready (default: 3)",
    )
    p.add_argument(
        "--interval", type=positive, default=1.0, help="seconds between looks while waiting"
    )
    p.add_argument(
        "--lease-wait",
        type=float,
        default=120.0,
        help="seconds to wait for another operation on the shoot to finish (default: 120)",
    )
    p.set_defaults(run=run)

    h = machines.add_parser("heal", help=heal.__doc__)
    _add_shoot_options(h)
    h.add_argument(
        "--force-drain",
        action="store_true",
        help="replace machines even when their bare pods or emptyDir data would be lost",
    )
    h.add_argument(
        "--creation-timeout",
        type=positive,
        default=DEFAULTS.machine_creation_timeout.total_seconds(),
        help="seconds a replacement may take to become Ready (default: %(default).0f)",
    )
    h.add_argument(
        "--drain-timeout",
        type=positive,
        default=DEFAULTS.drain_timeout.total_seconds(),
        help="seconds the drain of a replaced machine may take (default: %(default).0f)",
    )
    h.add_argument(
        "--interval", type=positive, default=1.0, help="seconds between looks while waiting"
    )
    h.set_defaults(run=heal)


def _add_shoot_options(parser: argparse.ArgumentParser) -> None:
    """The shoot a verb works on, and where its credentials come from (see ``_clients``)."""
    parser.add_argument("--project", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument(
        "--shoot-kubeconfig", help="the shoot's admin kubeconfig (default: read its Secret)"
    )
