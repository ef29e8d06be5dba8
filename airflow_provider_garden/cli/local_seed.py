"""`garden local-seed up | down | status | kubeconfig`: the single-node seed on this machine."""

from __future__ import annotations

import argparse
import json
import sys
import time

from airflow_provider_garden.localseed.seed import LocalSeed, Status

# Exit status of `status` when the seed is not (fully) running, like `systemctl status`.
NOT_RUNNING = 3


def up(args: argparse.Namespace) -> int:
    """Build what is missing, start what is not running, wait until healthy."""
    started = time.monotonic()
    kubeconfig = LocalSeed().up()
    print(f"local seed ready in {time.monotonic() - started:.1f}s", file=sys.stderr)
    print(kubeconfig)
    return 0


def down(args: argparse.Namespace) -> int:
    """Stop what the seed started; remove the mounts, bridge, chains and sysctls it recorded."""
    leftovers = LocalSeed().down(purge=args.purge)
    if leftovers.empty():
        return 0
    print(f"left behind: {json.dumps(leftovers.__dict__, indent=2)}", file=sys.stderr)
    return 1


def status(args: argparse.Namespace) -> int:
    """What runs, what is healthy, and what of the seed remains on the host."""
    report = LocalSeed().status()
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        _print_status(report)
    return 0 if report.components and report.healthy else NOT_RUNNING


def _print_status(report: Status) -> None:
    rows = [("COMPONENT", "PID", "RUNNING", "HEALTHY", "DETAIL")]
    for c in report.components:
        rows.append((c.name, str(c.pid or "-"), _yes(c.running), _yes(c.healthy), c.detail))
    if len(rows) == 1:
        print("the local seed was never started here (no record of its binaries)")
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows if len(rows) > 1 else []:
        cells = [cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)]
        print("  ".join([*cells, row[4][:120]]).rstrip())
    left = report.leftovers
    if report.running:
        chains = sum(len(names) for names in left.chains.values())
        print(
            f"host: {len(left.processes)} container processes and shims, {len(left.mounts)} "
            f"mounts, bridge {'up' if left.bridge else 'missing'}, {len(left.veths)} veths, "
            f"{chains} iptables chains"
        )
    elif not left.empty():
        print(f"left on the host: {json.dumps(left.__dict__, indent=2)}")
    print(f"kubeconfig: {report.kubeconfig}")


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def kubeconfig(args: argparse.Namespace) -> int:
    """Print the path of the local seed's admin kubeconfig."""
    path = LocalSeed().paths.kubeconfig
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist yet: run `garden local-seed up`")
    print(path)
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser(
        "local-seed", help="a real single-node Kubernetes on this machine"
    ).add_subparsers(dest="local_seed_cmd", required=True, metavar="ACTION")
    group.add_parser("up", help=up.__doc__).set_defaults(run=up)
    p = group.add_parser("down", help=down.__doc__)
    p.add_argument(
        "--purge",
        action="store_true",
        help="also delete its home (etcd data, images, volumes); only a home the seed created",
    )
    p.set_defaults(run=down)
    p = group.add_parser("status", help=status.__doc__)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=status)
    group.add_parser("kubeconfig", help=kubeconfig.__doc__).set_defaults(run=kubeconfig)
