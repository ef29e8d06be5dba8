"""`garden backups ls [--deleted] PROJECT/NAME [-o table|wide|json|yaml]`: a shoot's etcd
snapshots, good or not and why.

Snapshots live where only the seed can read them (a volume in the seed, or a bucket
whose credentials are a Secret there), so this runs `garden-agent etcd ls` in a
short-lived pod beside the shoot's control plane (for ``--deleted``: in the project
namespace, where a teardown kept them) and prints its result.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from airflow_provider_garden.cli.output import Render, add_output_flag, age, emit
from airflow_provider_garden.cli.shoots import project_and_name
from airflow_provider_garden.core import naming
from airflow_provider_garden.core.controlplane import etcd_pod
from airflow_provider_garden.core.retention import parse_snapshot_name
from airflow_provider_garden.core.shoot_spec import parse_shoot
from airflow_provider_garden.core.snapshot_owner import UNMARKED
from airflow_provider_garden.kube import kept_backups
from airflow_provider_garden.kube.agent_pod import AgentPodError, agent_pod, run_agent_pod
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.shoots import Shoots


def backups_ls(args: argparse.Namespace) -> int:
    """List a shoot's etcd snapshots (newest last): good, or why not, and whose (UID);
    -o wide adds each one's age, end revision, compression and whether it is the one
    the Shoot records as newest good (read from the snapshot's name and the status)."""
    project, name = args.shoot
    kube = KubeClient.from_kubeconfig(args.kubeconfig)
    if args.deleted:
        return _ls_deleted(kube, project, name, args.output)
    shoot = Shoots(kube).find(project, name)
    if shoot is None:
        raise LookupError(
            f"shoot {project}/{name} does not exist (no Shoot {name!r} in namespace "
            f"{naming.project_namespace(project)}); for a deleted one: --deleted"
        )
    spec = parse_shoot(shoot)
    if spec.backup is None:
        raise LookupError(f"{project}/{name} has no spec.backup: no snapshots are taken")
    volumes, mounts, store_args = etcd_pod.store_volumes(spec.backup)
    pod = agent_pod(
        naming.controlplane_namespace(project, name),
        ["etcd", "ls", *store_args],
        volumes,
        mounts,
        name="garden-backups-ls",
        service_account="garden-etcd",
    )
    try:
        result = run_agent_pod(kube, pod)
    except AgentPodError as err:
        raise AgentPodError(f"listing {project}/{name}'s snapshots failed: {err}") from err
    last = Shoots(kube).status(project, name).last_backup
    recorded = last.snapshot if last else None
    if args.output in TABLES:
        print(
            f"{result['count']} snapshot(s) of {project}/{name} (UID {shoot['metadata']['uid']}),"
            f" the newest {len(result['snapshots'])} listed; newest good recorded: {recorded or '-'}"
        )
    items = [
        {**_snapshot(project, name, snap), "recorded": snap["key"] == recorded}
        for snap in result["snapshots"]
    ]
    emit(items, COLUMNS, args.output, wide=WIDE_COLUMNS, render=RENDER)
    return 0


def _ls_deleted(kube: KubeClient, project: str, name: str, output: str) -> int:
    """The kept snapshots of every deleted shoot that had this name."""
    kept = [r for r in kept_backups.records(kube, project) if r.name == name]
    if not kept and output in TABLES:
        print(f"no deleted shoot named {project}/{name} has kept snapshots")
        return 0
    status = 0
    items = []
    for record in kept:
        try:
            result = kept_backups.list_snapshots(kube, record)
        except AgentPodError as err:  # the other records are still listed; then status 1
            print(
                f"garden: error: listing UID {record.uid} failed: {_one_line(err)}", file=sys.stderr
            )
            status = 1
            continue
        items += [
            {
                **_snapshot(project, name, snap),
                "store": record.kind,
                "deleted": record.deleted.isoformat(),
                "keptUntil": record.expires.isoformat(),
            }
            for snap in result["snapshots"]
            if snap.get("shootUID") == record.uid
        ]
    emit(items, DELETED_COLUMNS, output, wide=DELETED_WIDE_COLUMNS, render=RENDER)
    return status


def _snapshot(project: str, name: str, snap: dict[str, Any]) -> dict[str, Any]:
    """One snapshot as listed: what the agent said, and what its name tells."""
    try:
        parsed = parse_snapshot_name(snap["key"])
    except ValueError:  # not a name backups write: the agent's problem says so
        parsed = None
    return {
        "project": project,
        "name": name,
        "key": snap["key"],
        "good": bool(snap["good"]),
        "problem": snap.get("problem"),
        "shootUID": snap.get("shootUID") or UNMARKED,
        "created": parsed.created.isoformat() if parsed else None,
        "endRevision": parsed.end_revision if parsed else None,
        "compressed": parsed.compressed if parsed else None,
    }


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


TABLES = ("table", "wide")
COLUMNS = {"good": "STATUS", "key": "SNAPSHOT", "shootUID": "UID", "problem": "PROBLEM"}
WIDE_COLUMNS = {
    "created": "AGE",
    "endRevision": "REVISION",
    "compressed": "GZIP",
    "recorded": "RECORDED",
}
DELETED_COLUMNS = {**COLUMNS, "deleted": "DELETED", "keptUntil": "KEPTUNTIL"}
DELETED_WIDE_COLUMNS = {
    "created": "AGE",
    "endRevision": "REVISION",
    "compressed": "GZIP",
    "store": "STORE",
}
RENDER: dict[str, Render] = {
    "good": lambda good: "good" if good else "BAD",
    "created": age,
    "compressed": _yes,
    "recorded": _yes,
}


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backups = commands.add_parser("backups", help="etcd snapshots of shoots").add_subparsers(
        dest="backups_cmd", required=True
    )
    ls = backups.add_parser("ls", help=backups_ls.__doc__)
    ls.add_argument("shoot", type=project_and_name, metavar="PROJECT/NAME")
    ls.add_argument(
        "--deleted",
        action="store_true",
        help="the snapshots a teardown kept of deleted shoots of that name (with their UIDs "
        "and until when they are kept)",
    )
    add_output_flag(ls)
    ls.set_defaults(run=backups_ls)
