"""`garden`: the command for people. Each command group lives in its own module.

A module joins by offering ``add_commands(commands)``, where it adds its parsers
and sets ``run`` (a function of the parsed arguments returning the exit status).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from airflow_provider_garden import __version__
from airflow_provider_garden.cli import backups, local_seed, projects, shoots
from airflow_provider_garden.localseed.errors import SeedError
from airflow_provider_garden.localseed.paths import SeedPaths

COMMAND_MODULES = (local_seed, shoots, projects, backups)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="garden", description="Gardener-like fleet management of Kubernetes clusters."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--kubeconfig",
        default=os.environ.get("KUBECONFIG") or str(SeedPaths.default().kubeconfig),
        help="kubeconfig of the seed (default: $KUBECONFIG, else the local seed's)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except SeedError as err:
        print(f"garden: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
